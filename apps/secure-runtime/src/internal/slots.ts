/**
 * A counting limiter for the request path: taking a free slot is a counter increment, and waiting for one is bounded
 * by a plain timer. (`Effect.makeSemaphore` with `Effect.timeout` forks fibers and a timer on every call.)
 */
import * as Effect from "effect/Effect"

export interface Slots {
  /** A slot (`true`), or `false` when none freed up within `waitMs`. Interrupting a wait gives nothing up. */
  readonly take: (waitMs: number) => Effect.Effect<boolean>
  readonly release: () => void
  /** Callers waiting for a slot. */
  readonly waiting: () => number
  /** Whether {@link Slots.take} would get a slot without waiting. */
  readonly free: () => boolean
  /** Takes a free slot (`true`) without an effect, or none (`false`) when all are taken. */
  readonly tryTake: () => boolean
}

export const make = (size: number): Slots => {
  let used = 0
  const queue: Array<() => void> = []
  const wait = (waitMs: number) =>
    Effect.async<boolean>((resume) => {
      const grant = () => {
        clearTimeout(timer)
        resume(Effect.succeed(true))
      }
      const timer = setTimeout(() => {
        const index = queue.indexOf(grant)
        if (index >= 0) queue.splice(index, 1)
        resume(Effect.succeed(false))
      }, waitMs)
      queue.push(grant)
      return Effect.sync(() => {
        const index = queue.indexOf(grant)
        if (index >= 0) {
          queue.splice(index, 1)
          clearTimeout(timer)
        }
      })
    })
  return {
    // A free slot is taken without suspending the fiber: the common case at every request.
    take: (waitMs) =>
      Effect.suspend(() => {
        if (used >= size) return wait(waitMs)
        used++
        return Effect.succeed(true)
      }),
    release: () => {
      const next = queue.shift()
      if (next === undefined) used--
      else next()
    },
    waiting: () => queue.length,
    free: () => used < size,
    tryTake: () => {
      if (used >= size) return false
      used++
      return true
    }
  }
}
