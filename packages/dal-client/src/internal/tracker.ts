/**
 * Progress counters of one download. Byte counts are bumped synchronously from the data path (no per-chunk Effect
 * work); snapshots go to the caller's callback at most every `interval`, when a file finishes, and at the end.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { OnProgress, ProgressEvent } from "../Progress.js"

export interface Tracker {
  /** A file's size became known. */
  readonly sized: (bytes: number) => void
  /** Bytes landed on disk (negative when a restart discards a partial file). */
  readonly add: (bytes: number) => void
  readonly fileDone: (skipped: boolean) => Effect.Effect<void>
}

export const make = (
  base: Pick<ProgressEvent, "datasetId" | "key" | "filesTotal">,
  onProgress: OnProgress | undefined,
  interval: Duration.DurationInput = "100 millis"
): Effect.Effect<Tracker, never, Scope.Scope> =>
  Effect.gen(function*() {
    const counts = { filesDone: 0, filesSkipped: 0, bytesDone: 0, bytesTotal: 0, sizesKnown: 0 }
    let changes = 0
    let published = -1
    const publish = Effect.suspend(() => {
      if (onProgress === undefined || published === changes) return Effect.void
      published = changes
      return onProgress({ ...base, ...counts })
    })
    if (onProgress !== undefined) {
      yield* publish.pipe(Effect.repeat(Schedule.spaced(Duration.decode(interval))), Effect.forkScoped)
      yield* Effect.addFinalizer(() => publish)
    }
    return {
      sized: (bytes) => {
        counts.bytesTotal += bytes
        counts.sizesKnown++
        changes++
      },
      add: (bytes) => {
        counts.bytesDone += bytes
        changes++
      },
      fileDone: (skipped) =>
        Effect.suspend(() => {
          counts.filesDone++
          if (skipped) counts.filesSkipped++
          changes++
          return publish
        })
    }
  })
