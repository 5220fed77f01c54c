/**
 * The `secure-runtime` command line: `render`, `serve`, `export-python`, and `call` (used by the exported Python
 * shim). Exit codes: 0 done; 2 usage (a missing or bad option, an unusable `--dataset2gw`: one line ending
 * `(see secure-runtime --help)`); 3 payload refused (one `path: message` line per problem on standard error); 4 the
 * runtime's template failed; 130 interrupted (SIGINT/SIGTERM, after `serve` has drained); 1 anything else (the module
 * cannot be loaded, the output cannot be written).
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { CliMain } from "@fedkit/cli-policy"
import { FlareInstallation, FlareRunner, JobStore, Poc, Simulator } from "@fedkit/job-packager"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Match from "effect/Match"
import * as Option from "effect/Option"
import { randomUUID } from "node:crypto"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import * as Cluster from "./Cluster.js"
import * as Inputs from "./Inputs.js"
import * as JobFolder from "./JobFolder.js"
import * as Jobs from "./Jobs.js"
import * as PythonShim from "./PythonShim.js"
import * as Render from "./Render.js"
import * as RuntimeModule from "./RuntimeModule.js"
import * as Server from "./Server.js"

// The version users see in --version is the published one, bumped by changesets.
const packageVersion = (createRequire(import.meta.url)("../package.json") as { readonly version: string }).version

/**
 * @since 0.1.0
 * @category constants
 */
export const EXIT = {
  ok: CliMain.ExitCode.ok,
  other: CliMain.ExitCode.failure,
  usage: CliMain.ExitCode.usage,
  rejected: 3,
  template: 4,
  interrupted: CliMain.ExitCode.interrupted
} as const

const moduleOption = Options.text("module").pipe(
  Options.withDescription(
    `The runtime module (file, or folder holding secure_runtime_service.js/.mjs); default ${RuntimeModule.DEFAULT_DIR}`
  ),
  Options.optional
)
const dataset2gwOption = Options.text("dataset2gw").pipe(
  Options.withDescription("The dataset id → gateway map: a JSON file, or inline JSON")
)

const NAME = "secure-runtime"

const render = Command.make(
  "render",
  {
    module: moduleOption,
    payload: Options.text("payload").pipe(Options.withDescription("The payload: a JSON file, or - for standard input")),
    dataset2gw: dataset2gwOption,
    out: Options.text("out").pipe(Options.withDescription("Where to write <name>/, <name>.manifest.json (and .zip)")),
    name: Options.text("name").pipe(
      Options.withDescription("The job folder's name (default: meta.json's name)"),
      Options.optional
    ),
    zip: Options.boolean("zip").pipe(Options.withDescription("Also write <name>.zip")),
    replace: Options.boolean("replace").pipe(Options.withDescription("Replace existing outputs of the same name")),
    json: Options.boolean("json").pipe(Options.withDescription("Print the result as JSON"))
  },
  (args) =>
    Effect.gen(function*() {
      const loaded = yield* RuntimeModule.load(Option.getOrUndefined(args.module))
      const dataset2gw = yield* Inputs.dataset2gw(args.dataset2gw)
      const body = yield* Inputs.payload(args.payload, loaded.runtime.limits.maxBytes)
      const pkg = yield* Render.render(
        loaded.runtime,
        body,
        dataset2gw,
        Option.getOrElse(args.name, () => Render.nameFromMeta)
      )
      const written = yield* JobStore.write(pkg, { outDir: args.out, zip: args.zip, replace: args.replace })
      const summary = {
        job: pkg.name,
        folder: written.folder,
        ...(written.zip === undefined ? {} : { zip: written.zip }),
        manifest: written.manifest,
        digest: written.digest,
        files: pkg.files.map((file) => file.path)
      }
      yield* args.json
        ? Console.log(JSON.stringify(summary))
        : Console.log(
          [`${written.folder} (${pkg.files.length} files, ${written.digest})`, ...(written.zip ? [written.zip] : [])]
            .join("\n")
        )
    })
).pipe(Command.withDescription("Render one payload into a FLARE job folder (and zip)"))

const runnerFor = (target: "none" | "simulator" | "poc") => {
  if (target === "none") return Effect.succeed(undefined)
  const runnerLayer = (target === "simulator" ? Simulator.layer() : Poc.layer()).pipe(
    Layer.provide(FlareInstallation.layer)
  )
  return Layer.build(runnerLayer).pipe(Effect.map(Context.get(FlareRunner.FlareRunner)))
}

const serve = Command.make(
  "serve",
  {
    module: moduleOption,
    dataset2gw: dataset2gwOption,
    jobsDir: Options.text("jobs-dir").pipe(Options.withDescription("Where job folders are written")),
    port: Options.integer("port").pipe(Options.withDescription("0 picks a free port"), Options.withDefault(8080)),
    host: Options.text("host").pipe(Options.withDefault("127.0.0.1")),
    submit: Options.choice("submit", ["none", "simulator", "poc"]).pipe(
      Options.withDescription("Submit each job to FLARE in the background"),
      Options.withDefault("none" as const)
    ),
    maxConcurrentRenders: Options.integer("max-concurrent-renders").pipe(Options.withDefault(8)),
    maxQueuedRenders: Options.integer("max-queued-renders").pipe(Options.withDefault(256)),
    requestTimeoutMs: Options.integer("request-timeout-ms").pipe(Options.withDefault(30_000)),
    shutdownGraceMs: Options.integer("shutdown-grace-ms").pipe(Options.withDefault(30_000)),
    workers: Options.integer("workers").pipe(
      Options.withDescription("Server processes sharing the port (node:cluster); only with --submit none"),
      Options.withDefault(1)
    )
  },
  (args) =>
    Effect.gen(function*() {
      for (
        const [option, value, min] of [
          ["port", args.port, 0],
          ["max-concurrent-renders", args.maxConcurrentRenders, 1],
          ["max-queued-renders", args.maxQueuedRenders, 0],
          ["request-timeout-ms", args.requestTimeoutMs, 1],
          ["shutdown-grace-ms", args.shutdownGraceMs, 0],
          ["workers", args.workers, 1]
        ] as const
      ) {
        if (value < min || (option === "port" && value > 65535)) {
          return yield* new Inputs.UsageError({ option, reason: `${value} is out of range` })
        }
      }
      if (args.workers > 1 && args.submit !== "none") {
        return yield* new Inputs.UsageError({ option: "workers", reason: "more than 1 only with --submit none" })
      }
      const loaded = yield* RuntimeModule.load(Option.getOrUndefined(args.module))
      const dataset2gw = yield* Inputs.dataset2gw(args.dataset2gw)
      const clustered = args.workers > 1
      if (clustered && !Cluster.isWorker()) {
        // Checked above (module, map); the workers check them again, and none of them sweeps.
        yield* Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeDirectory(args.jobsDir, { recursive: true }))
        yield* JobFolder.sweep(args.jobsDir)
        return yield* Cluster.primary(args.workers)
      }
      const runner = yield* runnerFor(args.submit)
      const jobs = yield* Jobs.make({
        sweep: !clustered,
        runtime: loaded.runtime,
        dataset2gw,
        jobsDir: args.jobsDir,
        maxConcurrentRenders: args.maxConcurrentRenders,
        maxQueuedRenders: args.maxQueuedRenders,
        ...(runner === undefined ? {} : { runner })
      })
      yield* Effect.logInfo("runtime loaded").pipe(Effect.annotateLogs({ module: loaded.path, submit: args.submit }))
      return yield* Server.serve({
        jobs,
        port: args.port,
        host: args.host,
        maxBodyBytes: loaded.runtime.limits.maxBytes,
        requestTimeout: args.requestTimeoutMs,
        shutdownGrace: args.shutdownGraceMs,
        // In a cluster the primary prints the URL, once.
        ...(clustered ? { onListening: () => Effect.void } : {})
      })
    }).pipe(Effect.scoped)
).pipe(Command.withDescription("Serve the HTTP API: POST /v1/jobs, GET /v1/jobs/{id}, GET /healthz"))

/** The bin this module ships with, for the shim to call. */
const ownBin = () => fileURLToPath(new URL("./bin.js", import.meta.url))

const exportPython = Command.make(
  "export-python",
  {
    module: moduleOption,
    out: Options.text("out").pipe(Options.withDescription("The folder to write secure_runtime_service.py into")),
    node: Options.text("node").pipe(Options.withDescription("The node executable"), Options.withDefault("node")),
    bin: Options.text("bin").pipe(Options.withDescription("The secure-runtime bin the shim runs"), Options.optional)
  },
  (args) =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const loaded = yield* RuntimeModule.load(Option.getOrUndefined(args.module))
      const outDir = path.resolve(args.out)
      const relative = path.relative(outDir, loaded.path)
      const text = PythonShim.source({
        node: args.node,
        bin: path.resolve(Option.getOrElse(args.bin, ownBin)),
        module: relative.startsWith("..") || path.isAbsolute(relative) ? loaded.path : relative
      })
      const target = path.join(outDir, "secure_runtime_service.py")
      const temp = path.join(outDir, `.secure_runtime_service.py.${randomUUID()}.tmp`)
      yield* fs.makeDirectory(outDir, { recursive: true })
      yield* fs.writeFileString(temp, text, { mode: 0o644 })
      yield* fs.rename(temp, target).pipe(Effect.ensuring(fs.remove(temp).pipe(Effect.ignore)))
      yield* Console.log(target)
    })
).pipe(Command.withDescription("Write a Python secure_runtime_service.py that delegates to this runtime"))

/** Bounds what the shim may send: a body of the runtime's limit, escaped in JSON, plus room for the rest. */
const callLimit = (maxBytes: number) => maxBytes * 6 + 1024 * 1024

const callCommand = Command.make(
  "call",
  {
    module: moduleOption,
    stream: Options.boolean("stream").pipe(
      Options.withDescription("Answer calls until standard input ends: one JSON request per line, one answer per line")
    )
  },
  (args) =>
    Effect.gen(function*() {
      const loaded = yield* RuntimeModule.load(Option.getOrUndefined(args.module))
      if (args.stream) {
        return yield* PythonShim.answerLines(
          loaded.runtime,
          process.stdin,
          process.stdout,
          callLimit(loaded.runtime.limits.maxBytes)
        )
      }
      const input = yield* Inputs.payload("-", callLimit(loaded.runtime.limits.maxBytes)).pipe(Effect.either)
      const reply = input._tag === "Left"
        ? { ok: false, error: "ValueError", message: input.left.message, issues: [] }
        : yield* PythonShim.call(loaded.runtime, Buffer.from(input.right).toString("utf8"))
      yield* Console.log(JSON.stringify(reply))
    })
).pipe(Command.withDescription("Answer the exported Python shim's calls (JSON on standard input)"))

/**
 * The `secure-runtime` command.
 *
 * @since 0.1.0
 */
export const command = Command.make("secure-runtime").pipe(
  Command.withDescription("The Secure Runtime entrypoint: render, serve or export a fedkit runtime module"),
  Command.withSubcommands([render, serve, exportPython, callCommand])
)

/**
 * What the command can fail with (its subcommands' errors; @effect/cli's usage errors are the policy's own).
 *
 * @since 0.1.0
 * @category models
 */
export type CommandError = typeof command extends Command.Command<infer _Name, infer _R, infer E, infer _A> ? E : never

/**
 * How a failure of a command is reported (lines for standard error) and its exit code: the refusals by their own
 * exit codes, the rest by the policy's `secure-runtime: <message>`, exit code 1.
 *
 * @since 0.1.0
 */
export const describeFailure: (error: CommandError) => CliMain.Failure = Match.type<CommandError>().pipe(
  Match.tags({
    UsageError: (error) => CliMain.usageFailure(NAME, error.message),
    Dataset2GwRefused: (error) => CliMain.usageFailure(NAME, `--dataset2gw: ${error.message}`),
    PayloadRefused: (error) => ({
      exitCode: EXIT.rejected,
      lines: error.issues.length > 0
        ? error.issues.map((issue) => `${issue.path}: ${issue.message}`)
        : [`(root): ${error.summary}`]
    }),
    TemplateBroken: (error) => ({
      exitCode: EXIT.template,
      lines: [`${NAME}: ${error.message}`, ...error.issues.map((issue) => `  ${issue.path}: ${issue.message}`)]
    })
  }),
  Match.orElse((error) => CliMain.failureLine(NAME, error))
)

/**
 * `secure-runtime` under fedkit's CLI policy (usage errors on one line with exit code 2, 130 when interrupted).
 *
 * @since 0.1.0
 */
export const program: CliMain.Program<CommandError> = { name: NAME, version: packageVersion, describeFailure }
