/**
 * Watching the sites of a running job. FLARE keeps the other sites waiting for one that stopped (the server waits for
 * its `min_clients`, or for a dead-client grace period), so the first site failure ends the run at once: the target
 * stops what it started and fails with `SiteFailed`, naming the site and the reason (see `flareLogs.siteFailure`).
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as flareLogs from "./flareLogs.js"

export interface SiteWatch {
  /** Hands new lines of a site's `log.json` to the watch. */
  readonly lines: (site: string, lines: ReadonlyArray<string>) => Effect.Effect<void>
  /** Completes with the first site that failed. */
  readonly failed: Effect.Effect<string>
  /** The site that failed first, if one did. */
  readonly poll: Effect.Effect<Option.Option<string>>
  /** The reason for a site's failure from everything it logged so far (a trainer's report wins over FLARE's line). */
  readonly reasonOf: (site: string) => string
}

export const make: Effect.Effect<SiteWatch> = Effect.map(Deferred.make<string>(), (failed) => {
  const records = new Map<string, Array<flareLogs.LogRecord>>()
  return {
    lines: (site, lines) =>
      Effect.suspend(() => {
        const parsed = flareLogs.parseRecords(lines.join("\n"))
        const kept = records.get(site) ?? []
        kept.push(...parsed)
        records.set(site, kept)
        return parsed.some((record) => flareLogs.siteFailureOf(record) !== undefined)
          ? Deferred.succeed(failed, site)
          : Effect.void
      }),
    failed: Deferred.await(failed),
    poll: Deferred.poll(failed).pipe(
      Effect.flatMap(Option.match({ onNone: () => Effect.succeedNone, onSome: Effect.asSome }))
    ),
    reasonOf: (site) => flareLogs.siteFailure(records.get(site) ?? []) ?? "it stopped (no reason in its log)"
  }
})
