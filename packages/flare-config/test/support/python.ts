// Runs Python from the project's FLARE environment: a script on argv, JSON in on stdin, JSON out on stdout.
import { Command, type CommandExecutor, FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { FlareToolchain } from "@fedkit/flare-toolchain"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

/** The FLARE toolchain plus what running processes and touching files needs. */
export const FlareLive = FlareToolchain.layer.pipe(Layer.provideMerge(NodeContext.layer))

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
): Effect.Effect<A, Error, FlareToolchain.FlareToolchain | CommandExecutor.CommandExecutor> =>
  Effect.gen(function*() {
    const toolchain = yield* FlareToolchain.FlareToolchain
    const command = Command.make(toolchain.python, "-c", script).pipe(
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

/** A fresh temporary directory, removed when the scope closes. */
export const tempDir = (prefix: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix }))

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
