/**
 * Locates the project's NVIDIA FLARE virtual environment (made by `tooling/flare/bootstrap.mjs`) and hands its
 * `python` and `nvflare` executables to whoever runs FLARE: tests, the demo and the apps.
 */
import { Command, type CommandExecutor, FileSystem, Path } from "@effect/platform"
import { Context, Effect, Layer, Schema } from "effect"
import { fileURLToPath } from "node:url"

/** The nvflare release every generated job targets and every FLARE test runs on. */
export const PINNED_NVFLARE_VERSION = "2.9.0"

/** The bootstrap writes this file last, so its presence means the environment finished installing. */
export const STAMP_FILE = ".fedkit-flare-stamp.json"

export class FlareToolchainError extends Schema.TaggedError<FlareToolchainError>()("FlareToolchainError", {
  venvDir: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `NVIDIA FLARE environment at ${this.venvDir} is not usable: ${this.reason}; ` +
      "create it with `node tooling/flare/bootstrap.mjs` (or `pnpm bootstrap`)"
  }
}

export interface FlareExecutables {
  readonly venvDir: string
  readonly python: string
  readonly nvflare: string
}

export class FlareToolchain extends Context.Tag("@fedkit/flare-toolchain/FlareToolchain")<
  FlareToolchain,
  FlareExecutables
>() {}

/** `FEDKIT_FLARE_VENV`, else `.venv-flare` at the repository root (three levels above this module, in src or dist). */
export const defaultVenvDir = (): string =>
  process.env["FEDKIT_FLARE_VENV"] ?? fileURLToPath(new URL("../../../.venv-flare", import.meta.url))

export const locate = (
  venvDir: string
): Effect.Effect<FlareExecutables, FlareToolchainError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const executables: FlareExecutables = {
      venvDir,
      python: path.join(venvDir, "bin", "python"),
      nvflare: path.join(venvDir, "bin", "nvflare")
    }
    const missing = (file: string) =>
      fs.exists(file).pipe(
        Effect.orElseSucceed(() => false),
        Effect.map((exists) => !exists)
      )
    if (yield* missing(path.join(venvDir, STAMP_FILE))) {
      return yield* new FlareToolchainError({
        venvDir,
        reason: "it was never created or its installation did not finish"
      })
    }
    for (const executable of [executables.python, executables.nvflare]) {
      if (yield* missing(executable)) {
        return yield* new FlareToolchainError({ venvDir, reason: `${path.basename(executable)} is missing` })
      }
    }
    return executables
  })

/** The environment at `defaultVenvDir()`. */
export const layer: Layer.Layer<FlareToolchain, FlareToolchainError, FileSystem.FileSystem | Path.Path> = Layer
  .effect(FlareToolchain, Effect.suspend(() => locate(defaultVenvDir())))

/** An environment somewhere else, for example one a team already has. */
export const layerAt = (
  venvDir: string
): Layer.Layer<FlareToolchain, FlareToolchainError, FileSystem.FileSystem | Path.Path> =>
  Layer.effect(FlareToolchain, locate(venvDir))

/** What `nvflare --version` reports, trimmed (for example `2.9.0`). */
export const nvflareVersion: Effect.Effect<
  string,
  FlareToolchainError,
  FlareToolchain | CommandExecutor.CommandExecutor
> = Effect
  .gen(function*() {
    const toolchain = yield* FlareToolchain
    return yield* Command.make(toolchain.nvflare, "--version").pipe(
      Command.string,
      Effect.map((output) => output.trim()),
      Effect.mapError((error) =>
        new FlareToolchainError({ venvDir: toolchain.venvDir, reason: `nvflare --version failed: ${error.message}` })
      )
    )
  })
