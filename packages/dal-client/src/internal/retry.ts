/**
 * The retry policy shared by every operation: which failures earn another attempt, exponential backoff with full
 * jitter, and `Retry-After` honoured (bounded).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import type { DalError } from "../DalError.js"
import type { Settings } from "../DalSettings.js"

/** A failure worth another attempt; `final` builds the error to report once attempts run out. */
export class Transient extends Schema.TaggedError<Transient>()("Transient", {
  final: Schema.declare((u: unknown): u is (attempts: number) => DalError => typeof u === "function"),
  retryAfter: Schema.Option(Schema.DurationFromSelf)
}) {}

export const isTransientStatus = (status: number): boolean =>
  status === 408 || status === 425 || status === 429 || status >= 500

// Waiting longer than this on a server's say-so would look like a hang; the retry then happens at this bound.
const maxRetryAfter = Duration.minutes(5)

/** `Retry-After` as delta-seconds or an HTTP date. */
export const parseRetryAfter = (raw: string | undefined, now: number): Option.Option<Duration.Duration> => {
  if (raw === undefined || raw.trim() === "") return Option.none()
  const value = raw.trim()
  if (/^\d+$/.test(value)) return Option.some(Duration.seconds(Number(value)))
  const at = Date.parse(value)
  return Number.isNaN(at) ? Option.none() : Option.some(Duration.millis(Math.max(0, at - now)))
}

export interface Retry {
  /** Sleeps before retry number `n` (0-based); fails with the final error when retries are exhausted. */
  readonly backoff: (n: number, transient: Transient) => Effect.Effect<void, DalError>
  /** Runs `attempt` until it succeeds, fails for good, or retries run out. */
  readonly retrying: <A, E, R>(
    attempt: (n: number) => Effect.Effect<A, E | Transient, R>
  ) => Effect.Effect<A, Exclude<E, Transient> | DalError, R>
}

export const make = (settings: Settings): Retry => {
  const backoff: Retry["backoff"] = (n, failure) => {
    if (n >= settings.retries) return Effect.fail(failure.final(n + 1))
    return Option.match(failure.retryAfter, {
      onSome: (d) => Effect.succeed(Duration.min(d, maxRetryAfter)),
      onNone: () => {
        const ceiling = Math.min(
          Duration.toMillis(settings.retryMaxDelay),
          Duration.toMillis(settings.retryBaseDelay) * 2 ** n
        )
        return Effect.map(Random.next, (r) => Duration.millis(Math.floor(r * ceiling)))
      }
    }).pipe(Effect.flatMap(Effect.sleep))
  }

  const retrying: Retry["retrying"] = <A, E, R>(attempt: (n: number) => Effect.Effect<A, E | Transient, R>) => {
    const loop = (n: number): Effect.Effect<A, Exclude<E, Transient> | DalError, R> =>
      Effect.catchIf(
        attempt(n),
        (e): e is Transient => e instanceof Transient,
        (t) => Effect.zipRight(backoff(n, t), Effect.suspend(() => loop(n + 1)))
      ) as Effect.Effect<A, Exclude<E, Transient> | DalError, R>
    return loop(0)
  }

  return { backoff, retrying }
}
