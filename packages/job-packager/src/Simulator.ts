/**
 * The `simulator` target: `nvflare simulator` on this machine, from the user's FLARE installation.
 *
 * Each site of the request is one simulated site (`-c site-a,site-b`, named as the runtime's dataset-to-gateway map
 * says), run by `threads` concurrent client workers (default: one per site, which external-process trainers need).
 * Each site's processes get that site's environment (see `internal/python.ts`, `SIMULATOR_LAUNCHER`): the job is
 * not rewritten for it, and secrets only live in the site processes' environment and in a 0600 file in a private
 * temporary folder that is deleted after the run.
 *
 * Success needs exit status 0 *and* no fatal record in the server's or any site's `log.json` (nvflare 2.9 exits 0
 * when a site stops with FATAL_SYSTEM_ERROR, 2.8 even after a server error).
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { FlareRunner, type Runner, type RunnerContext } from "./FlareRunner.js"
import * as internal from "./internal/simulator.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** How long FLARE's processes get to exit after SIGTERM before SIGKILL; default 5 seconds. */
  readonly grace?: Duration.DurationInput
}

/**
 * The simulator runner: each run stages the job in a private folder, runs `nvflare simulator` there with one
 * simulated site per requested site, follows each site's log and judges the outcome (see the module's description).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<Runner, never, RunnerContext> = internal.make

/**
 * The simulator as the `FlareRunner`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<
  FlareRunner,
  never,
  RunnerContext
> => Layer.effect(FlareRunner, make(options))
