/**
 * Where the user's NVIDIA FLARE is: the `nvflare` command and the Python interpreter it runs on. Every FLARE process
 * this package starts uses them, with their folder first on `PATH`, so that trainer commands such as
 * `python3 custom/client.py` get the same interpreter (and its `nvflare`).
 *
 * Found, in order: an explicit virtual environment (`layerVenv`), `FEDKIT_FLARE_VENV`, a project's own `.venv-flare`
 * in the working directory or the nearest folder above it that has one (as fedkit's repository makes it), or
 * `nvflare` on `PATH` (its interpreter read from the script's `#!` line).
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as path from "node:path"
import * as fs from "./internal/files.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Installation {
  readonly python: string
  readonly nvflare: string
  /** The folder holding `nvflare`, put first on `PATH` for FLARE's processes. */
  readonly binDir: string
  /** The virtual environment, when FLARE lives in one (exported as `VIRTUAL_ENV`). */
  readonly venvDir: Option.Option<string>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class FlareInstallation extends Context.Tag("@fedkit/job-packager/FlareInstallation")<
  FlareInstallation,
  Installation
>() {}

/**
 * No usable FLARE was found.
 *
 * @since 0.1.0
 * @category errors
 */
export class FlareNotFound extends Schema.TaggedError<FlareNotFound>()("FlareNotFound", {
  where: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `no usable NVIDIA FLARE at ${this.where}: ${this.reason}; install it (pip install nvflare==2.9.0) in a ` +
      "virtual environment and set FEDKIT_FLARE_VENV to it, or put its bin folder on PATH"
  }
}

const isFile = (file: string) =>
  fs.stat(file).pipe(
    Effect.map((info) => info.type === "File"),
    Effect.orElseSucceed(() => false)
  )

/**
 * FLARE installed in a virtual environment (`<venv>/bin/python`, `<venv>/bin/nvflare`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromVenv = (
  venvDir: string
): Effect.Effect<Installation, FlareNotFound> =>
  Effect.gen(function*() {
    const root = path.resolve(venvDir)
    const binDir = path.join(root, "bin")
    const python = path.join(binDir, "python")
    const nvflare = path.join(binDir, "nvflare")
    for (const file of [python, nvflare]) {
      if (!(yield* isFile(file))) {
        return yield* new FlareNotFound({ where: root, reason: `${path.basename(file)} is missing` })
      }
    }
    return { python, nvflare, binDir, venvDir: Option.some(root) }
  })

/**
 * The `nvflare` first on `PATH`, with the interpreter named on its `#!` line.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromPath = (
  searchPath: string
): Effect.Effect<Installation, FlareNotFound> =>
  Effect.gen(function*() {
    for (const dir of searchPath.split(":").filter((entry) => entry !== "")) {
      const nvflare = path.join(path.resolve(dir), "nvflare")
      if (!(yield* isFile(nvflare))) continue
      const head = yield* fs.readFileString(nvflare).pipe(
        Effect.map((text) => text.slice(0, 512).split("\n")[0] ?? ""),
        Effect.orElseSucceed(() => "")
      )
      const python = /^#!\s*(\S+)/.exec(head)?.[1]
      if (python === undefined || !(yield* isFile(python))) {
        return yield* new FlareNotFound({
          where: nvflare,
          reason: "its #! line names no Python interpreter that exists"
        })
      }
      const binDir = path.dirname(nvflare)
      const venv = path.dirname(binDir)
      const isVenv = yield* isFile(path.join(venv, "pyvenv.cfg"))
      return { python, nvflare, binDir, venvDir: isVenv ? Option.some(venv) : Option.none() }
    }
    return yield* new FlareNotFound({ where: "PATH", reason: "no nvflare command on PATH" })
  })

/**
 * The name of a project's own FLARE virtual environment, looked for from the working directory upwards.
 *
 * @since 0.1.0
 * @category constructors
 */
export const PROJECT_VENV = ".venv-flare"

/**
 * The nearest `.venv-flare` holding `bin/nvflare`, in `start` or a folder above it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const findProjectVenv = (
  start: string
): Effect.Effect<Option.Option<string>, never> =>
  Effect.gen(function*() {
    let dir = path.resolve(start)
    while (true) {
      const venv = path.join(dir, PROJECT_VENV)
      if (yield* isFile(path.join(venv, "bin", "nvflare"))) return Option.some(venv)
      const parent = path.dirname(dir)
      if (parent === dir) return Option.none()
      dir = parent
    }
  })

/**
 * `FEDKIT_FLARE_VENV` when set, else the project's `.venv-flare` (see {@link findProjectVenv}, from the working
 * directory), else `nvflare` on `PATH`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<FlareInstallation, FlareNotFound> = Layer.effect(
  FlareInstallation,
  Effect.gen(function*() {
    const venv = yield* Config.option(Config.string("FEDKIT_FLARE_VENV")).pipe(Effect.orElseSucceed(Option.none))
    if (Option.isSome(venv) && venv.value.trim() !== "") return yield* fromVenv(venv.value)
    const project = yield* findProjectVenv(process.cwd())
    if (Option.isSome(project)) return yield* fromVenv(project.value)
    const searchPath = yield* Config.string("PATH").pipe(Effect.orElseSucceed(() => ""))
    return yield* fromPath(searchPath)
  })
)

/**
 * FLARE in the given virtual environment.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerVenv = (
  venvDir: string
): Layer.Layer<FlareInstallation, FlareNotFound> => Layer.effect(FlareInstallation, fromVenv(venvDir))

/**
 * A known installation (tests, or a caller that located FLARE itself).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerOf = (installation: Installation): Layer.Layer<FlareInstallation> =>
  Layer.succeed(FlareInstallation, installation)

/**
 * The environment FLARE's processes get on top of the caller's: the installation's folder first on `PATH`, and
 * `VIRTUAL_ENV` when it is a virtual environment.
 *
 * @since 0.1.0
 * @category environment
 */
export const environment = (installation: Installation): Record<string, string> => ({
  PATH: [installation.binDir, process.env["PATH"] ?? ""].filter((entry) => entry !== "").join(":"),
  ...Option.match(installation.venvDir, { onNone: () => ({}), onSome: (dir) => ({ VIRTUAL_ENV: dir }) })
})
