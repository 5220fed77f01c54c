/**
 * Draining: the requests in flight, whether the server is shutting down, and the wait for those requests at
 * shutdown, bounded by the grace.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

/**
 * Requests in flight, and whether the server is shutting down.
 *
 * @since 0.1.0
 * @category models
 */
export interface Drain {
  readonly inFlight: () => number
  readonly draining: () => boolean
  /** Refuse new requests from now on. */
  readonly start: () => void
  readonly enter: () => void
  readonly leave: () => void
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const makeDrain = (): Drain => {
  let inFlight = 0
  let draining = false
  return {
    inFlight: () => inFlight,
    draining: () => draining,
    start: () => {
      draining = true
    },
    enter: () => {
      inFlight++
    },
    leave: () => {
      inFlight--
    }
  }
}

/**
 * Stops taking requests and waits until those in flight are answered or `grace` has passed. A deadline rather than a
 * timeout: this runs in a finalizer, which is uninterruptible, so a timeout could not stop the wait.
 *
 * @since 0.1.0
 */
export const drained = (drain: Drain, grace: Duration.DurationInput): Effect.Effect<void> =>
  Effect.suspend(() => {
    drain.start()
    const deadline = performance.now() + Duration.toMillis(Duration.decode(grace))
    return Effect.sleep("10 millis").pipe(
      Effect.repeat({ until: () => drain.inFlight() <= 0 || performance.now() >= deadline }),
      Effect.asVoid
    )
  })
