/**
 * Renders the job the way the platform does: through the Secure Runtime container's entrypoint
 * (`secure-runtime render`, from `@fedkit/secure-runtime`) loading this model's runtime module, with the payload on
 * standard input. The rendered folder is read back as a checked FLARE job.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/platform/Command"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Job } from "@fedkit/flare-config"
import type { DecodeError } from "@fedkit/flare-config/Issue"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

/**
 * This model's built runtime module (`pnpm build`), as the container loads it.
 *
 * @since 0.1.0
 */
export const MODULE_FILE = fileURLToPath(new URL("./secure_runtime/secure_runtime_service.js", import.meta.url))

/**
 * `secure-runtime`'s built bin, if the package resolves and has been built.
 *
 * @since 0.1.0
 */
export const cliBin: Effect.Effect<Option.Option<string>, never, FileSystem.FileSystem | Path.Path> = Effect.gen(
  function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const manifest = Option.liftThrowable(() =>
      createRequire(import.meta.url).resolve("@fedkit/secure-runtime/package.json")
    )()
    if (Option.isNone(manifest)) return Option.none()
    const bin = path.join(path.dirname(manifest.value), "dist", "bin.js")
    return (yield* fs.exists(bin).pipe(Effect.orElseSucceed(() => false))) ? Option.some(bin) : Option.none()
  }
)

/**
 * `secure-runtime render` refused or failed: its exit code and its standard error (payload issues, reasons).
 *
 * @since 0.1.0
 */
export class RenderFailed extends Schema.TaggedError<RenderFailed>()("RenderFailed", {
  exitCode: Schema.Number,
  stderr: Schema.String
}) {
  override get message(): string {
    // One line: the render's own lines (one per problem of a refused payload) joined.
    const said = this.stderr.trim().split(/\s*\n\s*/).join("; ")
    return `secure-runtime render exited with ${this.exitCode}: ${said || "(no output)"}`
  }
}

const Summary = Schema.parseJson(Schema.Struct({
  job: Schema.String,
  folder: Schema.String,
  digest: Schema.String,
  files: Schema.Array(Schema.String)
}))

// The listing comes from another program: only plain relative paths are read.
const SAFE_RELATIVE = /^[A-Za-z0-9_][A-Za-z0-9._-]*(?:\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/

/**
 * What `render` produced: the job folder, its digest, and the job read back.
 *
 * @since 0.1.0
 */
export interface Rendered {
  readonly folder: string
  readonly digest: string
  readonly job: Job.FlareJob
}

/**
 * Runs `node <bin> render --module MODULE --payload - --dataset2gw JSON --out OUT --json --replace` with `payload`
 * (its JSON text) on standard input, and reads the rendered folder back.
 *
 * @since 0.1.0
 */
export const render = (options: {
  readonly bin: string
  readonly payload: string
  readonly dataset2gw: Readonly<Record<string, string>>
  readonly outDir: string
  readonly module?: string
}): Effect.Effect<
  Rendered,
  RenderFailed | PlatformError | DecodeError | ParseResult.ParseError,
  FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor
> =>
  Effect.scoped(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const proc = yield* Command.make(
      process.execPath,
      options.bin,
      "render",
      "--module",
      options.module ?? MODULE_FILE,
      "--payload",
      "-",
      "--dataset2gw",
      JSON.stringify(options.dataset2gw),
      "--out",
      options.outDir,
      "--json",
      "--replace"
    ).pipe(Command.feed(options.payload), Command.start)
    const text = (bytes: Stream.Stream<Uint8Array, PlatformError>) => Stream.mkString(Stream.decodeText(bytes))
    const [stdout, stderr, exitCode] = yield* Effect.all([text(proc.stdout), text(proc.stderr), proc.exitCode], {
      concurrency: "unbounded"
    })
    if (exitCode !== 0) return yield* new RenderFailed({ exitCode, stderr })
    const summary = yield* Schema.decodeUnknown(Summary)(stdout.trim())
    const unsafe = summary.files.find((file) => !SAFE_RELATIVE.test(file) || file.split("/").includes(".."))
    if (unsafe !== undefined) {
      return yield* new RenderFailed({
        exitCode,
        stderr: `unexpected file name ${JSON.stringify(unsafe)} in its output`
      })
    }
    const files = yield* Effect.forEach(
      summary.files,
      (file) => Effect.map(fs.readFileString(path.join(summary.folder, file)), (content) => [file, content] as const)
    )
    return { folder: summary.folder, digest: summary.digest, job: yield* Job.fromFiles(Object.fromEntries(files)) }
  }))
