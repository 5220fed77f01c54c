/**
 * Running a program of this package in Node: `runMain`, which interrupts the program on SIGINT/SIGTERM so a run
 * stops every FLARE process it started. The package reaches the file system and child processes through Node
 * itself, so a program provides no platform layer (before 0.2.0 it provided `NodePlatform.layer`).
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"

/**
 * Runs a program as the main fiber of the process: interrupted on SIGINT/SIGTERM (the process then exits when the
 * program's finalizers are done), failures logged with `Effect.logError`, exit code 1 on failure, else 0.
 *
 * @since 0.1.0
 * @category running
 */
export const runMain = <A, E>(
  program: Effect.Effect<A, E>,
  options: { readonly disableErrorReporting?: boolean } = {}
): void => {
  const reported = options.disableErrorReporting === true ? program : program.pipe(
    Effect.tapErrorCause((cause) => Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError(cause))
  )
  const fiber: Fiber.RuntimeFiber<A, E> = Effect.runFork(reported)
  // The fiber alone does not keep Node's event loop alive while it waits on an Effect timer or deferred.
  const keepAlive = setInterval(() => undefined, 2 ** 31 - 1)
  const interrupt = () => fiber.unsafeInterruptAsFork(fiber.id())
  process.once("SIGINT", interrupt)
  process.once("SIGTERM", interrupt)
  fiber.addObserver((exit) => {
    clearInterval(keepAlive)
    process.off("SIGINT", interrupt)
    process.off("SIGTERM", interrupt)
    process.exit(Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause) ? 1 : 0)
  })
}
