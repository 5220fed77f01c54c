/**
 * The `fedkit-dal` command line: `ls`, `download`, `policy` and `put`, configured by the `APH_*` variables.
 * Results go to stdout (`--json` for machines), progress and errors to stderr; the exit code says what went wrong.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { CliMain } from "@fedkit/cli-policy"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Match from "effect/Match"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { createRequire } from "node:module"
import * as NodePath from "node:path"
import * as DalClient from "./DalClient.js"
import type { DalError } from "./DalError.js"
import * as DalKey from "./DalKey.js"
import * as DalSettings from "./DalSettings.js"
import * as Progress from "./Progress.js"

// The version users see in --version is the published one, bumped by changesets.
const packageVersion = (createRequire(import.meta.url)("../package.json") as { readonly version: string }).version

const datasetId = Args.text({ name: "dataset-id" }).pipe(Args.withDescription("a dataset id from APH_DATA"))
const json = Options.boolean("json").pipe(Options.withDescription("print a machine-readable JSON result on stdout"))
const timeout = Options.float("timeout").pipe(
  Options.withDescription("seconds to wait for response headers and between body bytes (default: APH_TIMEOUT, or 60)"),
  Options.optional
)
const retries = Options.integer("retries").pipe(
  Options.withDescription("retries of a transient failure (default: APH_RETRIES, or 5)"),
  Options.optional
)
const deadline = Options.float("deadline").pipe(
  Options.withDescription("seconds the whole command may take before it fails (default: APH_DEADLINE, or none)"),
  Options.optional
)
const minRate = Options.integer("min-rate").pipe(
  Options.withDescription(
    "bytes per second a transfer must average over each timeout-long window, else it is cut and resumed (default: APH_MIN_RATE, or none)"
  ),
  Options.optional
)
const concurrency = Options.integer("concurrency").pipe(
  Options.withDescription("files to transfer at once (default: APH_MAX_WORKERS, or 16)"),
  Options.optional
)
const extract = Options.boolean("extract").pipe(
  Options.withDescription("extract downloaded .zip files into a folder beside each (named without .zip)")
)

interface Tuning {
  readonly timeout: Option.Option<number>
  readonly retries: Option.Option<number>
  readonly deadline: Option.Option<number>
  readonly minRate: Option.Option<number>
  readonly concurrency?: Option.Option<number>
}

/** Runs `f` with a client built from the `APH_*` variables, adjusted by the command's flags. */
const withClient = <A>(
  tuning: Tuning,
  f: (client: DalClient.DalClientService) => Effect.Effect<A, DalError, Scope.Scope>
): Effect.Effect<A, DalError> =>
  Effect.gen(function*() {
    const settings = yield* DalSettings.fromEnv.pipe(
      Effect.flatMap((s) =>
        DalSettings.override(s, {
          timeout: Option.getOrUndefined(Option.map(tuning.timeout, (seconds) => seconds * 1000)),
          retries: Option.getOrUndefined(tuning.retries),
          deadline: Option.getOrUndefined(Option.map(tuning.deadline, (seconds) => seconds * 1000)),
          minRate: Option.getOrUndefined(tuning.minRate),
          maxWorkers: Option.getOrUndefined(tuning.concurrency ?? Option.none())
        })
      )
    )
    // Built in this scope, so the connection pool lives as long as the command, not just the client's construction.
    const context = yield* Layer.build(
      DalClient.layerWithoutSettings.pipe(Layer.provide(Layer.succeed(DalSettings.DalSettings, settings)))
    )
    const client = Context.get(context, DalClient.DalClient)
    return yield* f(client)
  }).pipe(Effect.scoped)

const printJson = (value: unknown) => Console.log(JSON.stringify(value))

/** Writes to stdout, waiting for the reader when its buffer is full (a listing may be millions of lines). */
const writeOut = (text: string): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (process.stdout.write(text)) return resume(Effect.void)
    process.stdout.once("drain", () => resume(Effect.void))
  })

/** Prints `items` in batches of lines, each made by `line`, between `head` and `tail`. */
const printLines = <A>(
  items: Iterable<A>,
  line: (item: A, index: number) => string,
  head = "",
  tail = ""
): Effect.Effect<void> =>
  Effect.gen(function*() {
    let batch = head
    let index = 0
    for (const item of items) {
      batch += line(item, index++)
      if (batch.length >= 1 << 16) {
        yield* writeOut(batch)
        batch = ""
      }
    }
    yield* writeOut(batch + tail)
  })

const ls = Command.make(
  "ls",
  { datasetId, json, timeout, retries, deadline, minRate },
  (args) =>
    withClient(args, (client) =>
      Effect.gen(function*() {
        const key = yield* client.resolve(args.datasetId)
        if (!DalKey.isDirectory(key)) {
          return yield* (args.json ? printJson({ datasetId: args.datasetId, key, entries: [] }) : Console.log(key))
        }
        const entries = yield* client.list(key, { datasetId: args.datasetId })
        if (!args.json) return yield* printLines(entries, (e) => e.key + "\n")
        yield* printLines(
          entries,
          (e, i) =>
            (i === 0 ? "" : ",") + JSON.stringify({ key: e.key, path: e.segments.join("/"), directory: e.directory }),
          JSON.stringify({ datasetId: args.datasetId, key }).slice(0, -1) + `,"entries":[`,
          "]}\n"
        )
      }))
).pipe(Command.withDescription("list a dataset's keys (every file and folder below a directory dataset)"))

const download = Command.make(
  "download",
  {
    datasetId,
    dest: Args.directory({ name: "dest", exists: "either" }),
    concurrency,
    timeout,
    retries,
    deadline,
    minRate,
    extract,
    dryRun: Options.boolean("dry-run").pipe(
      Options.withDescription("list and check the dataset, print what would be downloaded, write nothing")
    ),
    json
  },
  (args) =>
    withClient(args, (client) =>
      Effect.gen(function*() {
        const into = NodePath.relative(process.cwd(), NodePath.resolve(args.dest)) || "."
        if (args.dryRun) {
          const plan = yield* client.planDataset(args.datasetId, { extract: args.extract })
          if (args.json) return yield* printJson({ ...plan, dest: NodePath.resolve(args.dest), dryRun: true })
          return yield* Console.log(
            `${plan.files} file(s) and ${plan.folders} listed folder(s) would be downloaded into ${into}; ` +
              "nothing was written (--dry-run)"
          )
        }
        const render = yield* Progress.renderer({
          // The bar redraws itself with an escape sequence: none with NO_COLOR, as for colour.
          isTTY: CliMain.colourAllowed(process.stderr),
          write: (text) => void process.stderr.write(text)
        })
        const result = yield* client.downloadDataset(args.datasetId, args.dest, {
          extract: args.extract,
          onProgress: render.onProgress
        })
        yield* render.finish
        // Counts only: a dataset may have millions of files (the library's `result.files` iterates them).
        if (args.json) return yield* printJson({ ...result, files: result.files.size })
        yield* Console.log(
          `${result.files.size} file(s), ${Progress.formatBytes(result.bytes)} in ${into}: ` +
            `${result.downloaded} downloaded, ${result.resumed} resumed, ${result.skipped} already complete`
        )
        for (const x of result.extracted) {
          yield* Console.log(`extracted ${x.entries} entries (${Progress.formatBytes(x.bytes)}) into ${x.into}`)
        }
      }))
).pipe(Command.withDescription("download a dataset into a folder (resumable; complete files are skipped)"))

const policy = Command.make(
  "policy",
  { datasetId, json, timeout, retries, deadline, minRate },
  (args) =>
    withClient(args, (client) =>
      Effect.flatMap(
        client.policy(args.datasetId),
        (p) => Console.log(args.json ? JSON.stringify(p) : JSON.stringify(p, null, 2))
      ))
).pipe(Command.withDescription("print a dataset's asset policy"))

const put = Command.make(
  "put",
  {
    name: Args.text({ name: "derived-name" }),
    file: Args.file({ name: "file", exists: "yes" }),
    json,
    timeout,
    retries,
    deadline,
    minRate
  },
  (args) =>
    withClient(args, (client) =>
      Effect.flatMap(
        client.putDerived(args.name, NodePath.basename(args.file), { path: args.file }),
        (uploaded) =>
          args.json
            ? printJson(uploaded)
            : Console.log(
              `uploaded ${uploaded.file} (${Progress.formatBytes(uploaded.bytes)}) to derived dataset ${uploaded.name}`
            )
      ))
).pipe(Command.withDescription("upload a file to a derived dataset"))

/**
 * The `fedkit-dal` command.
 *
 * @since 0.1.0
 */
export const command = Command.make("fedkit-dal").pipe(
  Command.withDescription("Read datasets and policies from the Data Access Layer (DAL); settings from APH_* variables"),
  Command.withSubcommands([ls, download, policy, put])
)

/**
 * Exit code of a failure: 2 configuration, 3 auth, 4 not found, 5 unsafe path or integrity, 1 anything else.
 *
 * @since 0.1.0
 */
export const exitCodeOf: (error: DalError) => number = Match.type<DalError>().pipe(
  Match.tagsExhaustive({
    DalConfigError: () => CliMain.ExitCode.usage,
    DalInvalidArgument: () => CliMain.ExitCode.usage,
    DalAuthError: () => 3,
    DalNotFound: () => 4,
    DalUnsafePath: () => 5,
    DalIntegrityError: () => 5,
    DalStatusError: () => CliMain.ExitCode.failure,
    DalTransportError: () => CliMain.ExitCode.failure,
    DalFileError: () => CliMain.ExitCode.failure
  })
)

/**
 * `fedkit-dal` under fedkit's CLI policy: a failure is one line `fedkit-dal: <message>` with its exit code.
 *
 * @since 0.1.0
 */
export const program: CliMain.Program<DalError> = {
  name: "fedkit-dal",
  version: packageVersion,
  describeFailure: (error) => ({ ...CliMain.failureLine("fedkit-dal", error), exitCode: exitCodeOf(error) })
}
