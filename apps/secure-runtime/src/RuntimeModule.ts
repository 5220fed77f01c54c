/**
 * Finding and loading the model's runtime module: by default
 * `/usr/secure_runtime/src/secure_runtime/secure_runtime_service.js` (or `.mjs`), where the Apheris Secure Runtime
 * expects the Python one, with its `templates/` folder beside it. Loading checks at start that the module exports
 * `parse`, `validate` and `template` (or a `defineRuntime` default export) and says exactly what is missing.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { loadRuntimeModule, type Runtime } from "@fedkit/runtime-core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { pathToFileURL } from "node:url"
import { describeError } from "./internal/text.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_DIR = "/usr/secure_runtime/src/secure_runtime"

/**
 * The file names looked for in a folder, in order.
 *
 * @since 0.1.0
 * @category constants
 */
export const FILE_NAMES: ReadonlyArray<string> = ["secure_runtime_service.js", "secure_runtime_service.mjs"]

/**
 * The module cannot be used: it is missing, cannot be imported, or is not a runtime module.
 *
 * @since 0.1.0
 * @category errors
 */
export class RuntimeModuleError extends Schema.TaggedError<RuntimeModuleError>()("RuntimeModuleError", {
  module: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Cannot use the runtime module ${this.module}: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Loaded {
  /** The absolute path of the module file. */
  readonly path: string
  readonly runtime: Runtime.Runtime<unknown>
}

/**
 * The module file for `given` (a file, or a folder holding one of {@link FILE_NAMES}), or the default location.
 *
 * @since 0.1.0
 */
export const resolve = (
  given: string | undefined
): Effect.Effect<string, RuntimeModuleError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const target = path.resolve(given ?? DEFAULT_DIR)
    const info = yield* fs.stat(target).pipe(Effect.option)
    if (info._tag === "Some" && info.value.type === "File") return target
    if (info._tag === "Some" && info.value.type === "Directory") {
      for (const name of FILE_NAMES) {
        const candidate = path.join(target, name)
        if (yield* fs.exists(candidate).pipe(Effect.orElseSucceed(() => false))) return candidate
      }
    }
    const looked = info._tag === "Some" && info.value.type === "Directory"
      ? `no ${FILE_NAMES.join(" or ")} in this folder`
      : "no such file or folder"
    return yield* new RuntimeModuleError({
      module: target,
      reason: `${looked}; pass --module PATH (a runtime module file, or the folder holding it)`
    })
  })

/**
 * Imports the module and checks its exports. The template folder defaults to `templates/` beside the module.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = (
  given: string | undefined
): Effect.Effect<Loaded, RuntimeModuleError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const path = yield* resolve(given)
    const url = pathToFileURL(path)
    const namespace = yield* Effect.tryPromise({
      try: () => import(url.href) as Promise<unknown>,
      catch: (error) => new RuntimeModuleError({ module: path, reason: `importing it failed: ${describeError(error)}` })
    })
    const runtime = loadRuntimeModule(namespace, { moduleUrl: url })
    if (Either.isLeft(runtime)) return yield* new RuntimeModuleError({ module: path, reason: runtime.left.message })
    return { path, runtime: runtime.right }
  })
