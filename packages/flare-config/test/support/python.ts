// Runs Python from the project's FLARE environment: a script on argv, JSON in on stdin, JSON out on stdout.
import { Command, type CommandExecutor, FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { fileURLToPath } from "node:url"

/**
 * The project's FLARE environment: `FEDKIT_FLARE_VENV`, else the repository's `.venv-flare`. Located here rather than
 * through `@fedkit/flare-toolchain`, which models it as `@fedkit/job-packager`'s installation: job-packager depends on
 * this package, so this package's tests cannot depend on either.
 */
export const venvDir = (): string =>
  process.env["FEDKIT_FLARE_VENV"] ?? fileURLToPath(new URL("../../../../.venv-flare", import.meta.url))

/** What running processes and touching files needs. */
export const FlareLive = NodeContext.layer

const collect = <E>(stream: Stream.Stream<Uint8Array, E>) =>
  stream.pipe(Stream.decodeText(), Stream.runFold("", (text, chunk) => text + chunk))

export interface PythonOptions {
  /** Prepended to PYTHONPATH (e.g. another nvflare release's source). */
  readonly pythonPath?: string
}

/** Runs `script` with `input` as JSON on stdin and parses what it prints as JSON. Fails on a non-zero exit. */
export const runPython = <A>(
  script: string,
  input: unknown,
  options: PythonOptions = {}
): Effect.Effect<A, Error, CommandExecutor.CommandExecutor> =>
  Effect.gen(function*() {
    const command = Command.make(`${venvDir()}/bin/python`, "-c", script).pipe(
      Command.feed(JSON.stringify(input)),
      Command.env({
        PYTHONWARNINGS: "ignore",
        ...(options.pythonPath === undefined ? {} : { PYTHONPATH: options.pythonPath })
      })
    )
    const process = yield* Command.start(command)
    const [stdout, stderr, exitCode] = yield* Effect.all(
      [collect(process.stdout), collect(process.stderr), process.exitCode],
      { concurrency: "unbounded" }
    )
    if (exitCode !== 0) return yield* Effect.fail(new Error(`python exited ${exitCode}: ${stderr.slice(-2000)}`))
    return JSON.parse(stdout) as A
  }).pipe(Effect.scoped, Effect.mapError((error) => (error instanceof Error ? error : new Error(String(error)))))

/** Writes files (relative path → text) under `root`. */
export const writeFiles = (root: string, files: Readonly<Record<string, string>>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    for (const [relative, text] of Object.entries(files)) {
      const target = path.join(root, relative)
      yield* fs.makeDirectory(path.dirname(target), { recursive: true })
      yield* fs.writeFileString(target, text)
    }
  })
