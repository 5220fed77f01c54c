/**
 * The project's NVIDIA FLARE virtual environment (made by `tooling/flare/bootstrap.mjs`) as `@fedkit/job-packager`'s
 * `FlareInstallation`: the one model of "a FLARE installation" that tests, the demo and the apps share.
 *
 * @since 0.1.0
 */
import { FlareInstallation } from "@fedkit/job-packager"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { execFile } from "node:child_process"
import { access } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/**
 * The nvflare release every generated job targets and every FLARE test runs on.
 *
 * @since 0.1.0
 * @category constants
 */
export const PINNED_NVFLARE_VERSION = "2.9.0"

/**
 * The bootstrap writes this file last, so its presence means the environment finished installing.
 *
 * @since 0.1.0
 * @category constants
 */
export const STAMP_FILE = ".fedkit-flare-stamp.json"

/**
 * The project's environment is missing, unfinished, or its `nvflare` does not run.
 *
 * @since 0.1.0
 * @category errors
 */
export class FlareToolchainError extends Schema.TaggedError<FlareToolchainError>()("FlareToolchainError", {
  venvDir: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `NVIDIA FLARE environment at ${this.venvDir} is not usable: ${this.reason}; ` +
      "create it with `node tooling/flare/bootstrap.mjs` (or `pnpm bootstrap`)"
  }
}

/**
 * `FEDKIT_FLARE_VENV`, else `.venv-flare` at the repository root (three levels above this module, in src or dist).
 *
 * @since 0.1.0
 * @category locating
 */
export const defaultVenvDir = (): string =>
  process.env["FEDKIT_FLARE_VENV"] ?? fileURLToPath(new URL("../../../.venv-flare", import.meta.url))

/**
 * The environment at `venvDir` once its bootstrap finished (the stamp is there), as a FLARE installation.
 *
 * @since 0.1.0
 * @category locating
 */
export const locate = (venvDir: string): Effect.Effect<FlareInstallation.Installation, FlareToolchainError> =>
  Effect.tryPromise({
    try: () => access(join(venvDir, STAMP_FILE)),
    catch: () => new FlareToolchainError({ venvDir, reason: "it was never created or its installation did not finish" })
  }).pipe(
    Effect.zipRight(FlareInstallation.fromVenv(venvDir)),
    Effect.catchTag("FlareNotFound", (error) => new FlareToolchainError({ venvDir, reason: error.reason }))
  )

/**
 * The environment at {@link defaultVenvDir} as job-packager's `FlareInstallation`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<FlareInstallation.FlareInstallation, FlareToolchainError> = Layer.effect(
  FlareInstallation.FlareInstallation,
  Effect.suspend(() => locate(defaultVenvDir()))
)

/**
 * What `nvflare --version` reports, trimmed (for example `NVFlare version is 2.9.0`).
 *
 * @since 0.1.0
 * @category running
 */
export const nvflareVersion: Effect.Effect<string, FlareToolchainError, FlareInstallation.FlareInstallation> = Effect
  .flatMap(
    FlareInstallation.FlareInstallation,
    (installation) =>
      Effect.async<string, FlareToolchainError>((resume) => {
        execFile(installation.nvflare, ["--version"], (error, stdout) =>
          resume(
            error === null ? Effect.succeed(stdout.trim()) : new FlareToolchainError({
              venvDir: installation.binDir,
              reason: `nvflare --version failed: ${error.message}`
            })
          ))
      })
  )
