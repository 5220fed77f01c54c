/**
 * `fedkit-dal-server`: serve a folder as a DAL. Prints the base URL as the first line of stdout; JSON-line logs go to
 * stderr; SIGINT/SIGTERM close the server gracefully (exit code 130). Usage errors exit 2, a failure to start 1.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type { CliMain } from "@fedkit/cli-policy"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import type * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import { createRequire } from "node:module"
import * as DalServer from "./DalServer.js"
import * as FaultFile from "./FaultFile.js"
import * as PolicyFile from "./PolicyFile.js"
import * as TokenFile from "./TokenFile.js"

// The version users see in --version is the published one, bumped by changesets.
const packageVersion = (createRequire(import.meta.url)("../package.json") as { readonly version: string }).version

const root = Options.directory("root", { exists: "yes" }).pipe(
  Options.withDescription("Data folder: ROOT/<bucket>/<path> is served as s3://<bucket>/<path>")
)
const port = Options.integer("port").pipe(Options.withDefault(0), Options.withDescription("Port; 0 picks a free one"))
const host = Options.text("host").pipe(Options.withDefault("127.0.0.1"), Options.withDescription("Address to bind"))
const tokens = Options.file("tokens", { exists: "yes" }).pipe(
  Options.optional,
  Options.withDescription("Bearer-token file (JSON). Without it authentication is DISABLED")
)
const policies = Options.file("policies", { exists: "yes" }).pipe(
  Options.optional,
  Options.withDescription("Asset-policy file (JSON)")
)
const faults = Options.file("faults", { exists: "yes" }).pipe(
  Options.optional,
  Options.withDescription("Fault-injection rules (JSON), for testing clients")
)
const pageSize = Options.integer("page-size").pipe(
  Options.withDefault(1000),
  Options.withDescription("Keys per listing page")
)
const folderEntries = Options.boolean("folder-entries").pipe(
  Options.withDescription("List folder keys too (the tutorial's shape; the official Python client cannot use it)")
)
const pageLinks = Options.choice("page-links", ["suffix", "rfc8288"]).pipe(
  Options.withDefault("suffix" as const),
  Options.withDescription("Next-page Link form: the bare suffix the official client appends, or RFC 8288 <URL>")
)
const publicUrl = Options.text("public-url").pipe(
  Options.optional,
  Options.withDescription("Base URL clients reach this server at, for RFC 8288 links (default: the listening URL)")
)
const latencyMs = Options.integer("latency-ms").pipe(
  Options.withDefault(0),
  Options.withDescription("Wait this many milliseconds before answering each request (imitates object storage)")
)
const limit = (name: string, fallback: number, description: string) =>
  Options.integer(name).pipe(Options.withDefault(fallback), Options.withDescription(description))
const headersTimeoutMs = limit(
  "headers-timeout-ms",
  DalServer.defaults.headersTimeoutMillis,
  "Close a connection whose request head is not complete after this many milliseconds (408)"
)
const idleTimeoutMs = limit(
  "idle-timeout-ms",
  DalServer.defaults.idleTimeoutMillis,
  "Close a connection on which no bytes move for this many milliseconds (idle, stalled upload, unread download)"
)
const maxTransfers = limit(
  "max-transfers",
  DalServer.defaults.maxTransfers,
  "File downloads and uploads at once; more get 503 with Retry-After"
)
const maxUploadBytes = limit(
  "max-upload-bytes",
  DalServer.defaults.maxUploadBytes,
  "Largest derived-data upload in bytes; a larger one gets 413"
)
const derivedDir = Options.directory("derived-dir").pipe(
  Options.optional,
  Options.withDescription("Where derived-data uploads are stored (default ROOT/derived)")
)

const loadOptional = <A>(
  file: Option.Option<string>,
  load: (file: string) => Effect.Effect<A, DalServer.DalServerError>
) => Option.match(file, { onNone: () => Effect.succeed(undefined), onSome: load })

/**
 * The `fedkit-dal-server` command: serves `--root` until interrupted, printing its URL on stdout.
 *
 * @since 0.1.0
 */
export const command = Command.make(
  "fedkit-dal-server",
  {
    root,
    port,
    host,
    tokens,
    policies,
    faults,
    pageSize,
    folderEntries,
    pageLinks,
    publicUrl,
    latencyMs,
    headersTimeoutMs,
    idleTimeoutMs,
    maxTransfers,
    maxUploadBytes,
    derivedDir
  },
  (args) =>
    Effect.gen(function*() {
      const grants = yield* loadOptional(args.tokens, TokenFile.load)
      const policyMap = yield* loadOptional(args.policies, PolicyFile.load)
      const rules = yield* loadOptional(args.faults, FaultFile.load)
      const server = yield* DalServer.start({
        root: args.root,
        host: args.host,
        port: args.port,
        pageSize: args.pageSize,
        folderEntries: args.folderEntries,
        pageLinks: args.pageLinks,
        ...(Option.isSome(args.publicUrl) ? { publicUrl: args.publicUrl.value } : {}),
        latencyMillis: args.latencyMs,
        headersTimeoutMillis: args.headersTimeoutMs,
        idleTimeoutMillis: args.idleTimeoutMs,
        maxTransfers: args.maxTransfers,
        maxUploadBytes: args.maxUploadBytes,
        ...(Option.isSome(args.derivedDir) ? { derivedDir: args.derivedDir.value } : {}),
        ...(grants === undefined ? {} : { tokens: grants }),
        ...(policyMap === undefined ? {} : { policies: policyMap }),
        ...(rules === undefined ? {} : { faults: rules })
      })
      yield* Effect.addFinalizer(() => Effect.logInfo("stopped"))
      yield* Console.log(server.url)
      return yield* Effect.never
    }).pipe(Effect.scoped)
).pipe(Command.withDescription("Serve a folder as an Apheris-style Data Access Layer (DAL) for development and tests"))

/**
 * `fedkit-dal-server` under fedkit's CLI policy: a failure to start is one line `fedkit-dal-server: <message>`, exit 1.
 *
 * @since 0.1.0
 */
export const program: CliMain.Program<unknown> = { name: "fedkit-dal-server", version: packageVersion }

/**
 * One JSON object per line on stderr: time, level, message, then the annotations (request fields).
 *
 * @since 0.1.0
 */
export const jsonLogger: Layer.Layer<never> = Logger.replace(
  Logger.defaultLogger,
  Logger.make(({ annotations, cause, date, logLevel, message }) => {
    const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
    const line = {
      time: date.toISOString(),
      level: logLevel.label,
      message: text,
      ...Object.fromEntries(HashMap.toEntries(annotations)),
      ...(Cause.isEmpty(cause) ? {} : { cause: Cause.pretty(cause) })
    }
    process.stderr.write(`${JSON.stringify(line)}\n`)
  })
)
