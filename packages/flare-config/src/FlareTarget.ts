/**
 * The NVIDIA FLARE release a job is written for.
 *
 * FLARE 2.9 removed the 2.8 Client API execution stack (`ClientAPILauncherExecutor`, `SubprocessLauncher`, the pipes)
 * and replaced it with one `ClientAPIExecutor`; a job written for one does not load on the other. Jobs are modelled
 * the 2.9 way; for `"2.8"` the client side is rewritten when the files are emitted (see the README).
 *
 * @since 0.1.0
 */
import { literals } from "./internal/schemas.js"

/**
 * @since 0.1.0
 */
export const FlareTarget = literals("2.9", "2.8").annotations({
  identifier: "FlareTarget",
  description: "the NVIDIA FLARE minor release a job targets"
})

/**
 * @since 0.1.0
 */
export type FlareTarget = typeof FlareTarget.Type

/**
 * The target when none is given: the release the project pins (nvflare 2.9.0).
 *
 * @since 0.1.0
 */
export const defaultTarget: FlareTarget = "2.9"
