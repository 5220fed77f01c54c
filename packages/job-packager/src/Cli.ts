/**
 * `fedkit-job`: package a job, and run it on FLARE.
 *
 * - `fedkit-job pack <files.json|dir> --out DIR [--zip]` checks a template's file map (a JSON object: path → JSON
 *   value or text) or a job folder, and writes `DIR/<job>/`, `DIR/<job>.manifest.json` and, with `--zip`,
 *   `DIR/<job>.zip`.
 * - `fedkit-job run <job folder|zip> --target simulator|poc|remote …` runs it and prints the result.
 *
 * Results go to stdout as one JSON object; FLARE's log lines and errors go to stderr. Exit codes: 0 done, 1 failed,
 * 2 usage error, 130 interrupted (SIGINT/SIGTERM: FLARE's processes are stopped first).
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type { CliMain } from "@fedkit/cli-policy"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { createRequire } from "node:module"
import * as Deployment from "./Deployment.js"
import * as FlareInstallation from "./FlareInstallation.js"
import * as FlareRunner from "./FlareRunner.js"
import * as internal from "./internal/cli.js"

// The version users see in --version is the published one, bumped by changesets.
const packageVersion = (createRequire(import.meta.url)("../package.json") as { readonly version: string }).version

/**
 * A problem with the command line's inputs (a file that is not what it should be, a missing option).
 *
 * @since 0.1.0
 * @category errors
 */
export class CliInputError extends Schema.TaggedError<CliInputError>()("CliInputError", {
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

// ---------------------------------------------------------------------------------------------------------------
// pack

const packInput = Args.path({ name: "files.json|dir", exists: "yes" }).pipe(
  Args.withDescription("A template's file map (JSON object: path → JSON value or text), or a job folder")
)
const out = Options.directory("out").pipe(
  Options.withDescription("Where to write <job>/, <job>.manifest.json, <job>.zip")
)
const zip = Options.boolean("zip").pipe(Options.withDescription("Also write the reproducible <job>.zip"))
const name = Options.text("name").pipe(
  Options.optional,
  Options.withDescription("The job's name (default: meta.json's name, else the input's name)")
)
const custom = Options.keyValueMap("custom").pipe(
  Options.optional,
  Options.withDescription("A custom code folder for an app: --custom app=./src (a file map or a job folder)")
)
const flareVersion = Options.choice("flare-version", ["2.9", "2.8"]).pipe(
  Options.withDefault("2.9" as const),
  Options.withDescription("The FLARE release to check the job for")
)
const replace = Options.boolean("replace").pipe(Options.withDescription("Replace outputs that already exist"))

const pack = Command.make(
  "pack",
  { input: packInput, out, zip, name, custom, flareVersion, replace },
  (args) => internal.pack(args)
).pipe(Command.withDescription("Check a job and write it as a folder, a manifest and (--zip) a reproducible ZIP"))

// ---------------------------------------------------------------------------------------------------------------
// run

const runInput = Args.path({ name: "job", exists: "yes" }).pipe(Args.withDescription("A job folder or job ZIP"))
const target = Options.choice("target", ["simulator", "poc", "remote"]).pipe(
  Options.withDescription("Where to run: nvflare simulator, a throw-away POC deployment, or an existing server")
)
const sites = Options.text("site").pipe(
  Options.repeated,
  Options.withDescription("A site (gateway) to run; repeatable")
)
const dataset2gw = Options.file("dataset2gw", { exists: "yes" }).pipe(
  Options.optional,
  Options.withDescription("The runtime's dataset → gateway map (JSON); its gateways are the sites")
)
const sitesFile = Options.file("sites", { exists: "yes" }).pipe(
  Options.optional,
  Options.withDescription(
    "Per-site environment (JSON): {\"<site>\": {\"env\": {NAME: value}, \"secretEnv\": {NAME: \"VAR\"}}}; secretEnv " +
      "values name variables of this command's environment whose values are passed as secrets"
  )
)
const threads = Options.integer("threads").pipe(Options.optional, Options.withDescription("Simulator client workers"))
const output = Options.directory("out").pipe(
  Options.optional,
  Options.withDescription("Results folder (must not exist or be empty); default: a new temporary folder")
)
const timeoutMinutes = Options.integer("timeout-minutes").pipe(
  Options.withDefault(30),
  Options.withDescription("Give up (and stop everything) after this long")
)
const startupKit = Options.directory("startup-kit", { exists: "yes" }).pipe(
  Options.optional,
  Options.withDescription("remote: the admin startup kit folder")
)
const username = Options.text("username").pipe(Options.optional, Options.withDescription("remote: the admin user"))
const study = Options.text("study").pipe(Options.optional, Options.withDescription("remote: the study"))
const venv = Options.directory("venv", { exists: "yes" }).pipe(
  Options.optional,
  Options.withDescription(
    "FLARE's virtual environment (default: FEDKIT_FLARE_VENV, else the project's .venv-flare, else nvflare on PATH)"
  )
)
const quiet = Options.boolean("quiet").pipe(Options.withDescription("Do not print FLARE's log lines"))
const json = Options.boolean("json").pipe(
  Options.withDescription("On failure too, print one JSON object on stdout: {\"error\": {_tag, message, …facts}}")
)

const runJob = Command.make(
  "run",
  {
    job: runInput,
    target,
    sites,
    dataset2gw,
    sitesFile,
    threads,
    output,
    timeoutMinutes,
    startupKit,
    username,
    study,
    venv,
    quiet,
    json
  },
  (args) =>
    Effect.gen(function*() {
      const siteList = yield* internal.collectSites(args)
      const runner = yield* internal.runnerLayer(args)
      const installation = Option.match(args.venv, {
        onNone: () => FlareInstallation.layer,
        onSome: FlareInstallation.layerVenv
      })
      const result = yield* FlareRunner.run({
        job: args.job,
        sites: siteList,
        timeout: `${args.timeoutMinutes} minutes`,
        ...(Option.isSome(args.threads) ? { threads: args.threads.value } : {}),
        ...(Option.isSome(args.output) ? { outputDir: args.output.value } : {}),
        ...(args.quiet ? {} : {
          onLog: (line: FlareRunner.LogLine) =>
            Effect.sync(() => void process.stderr.write(`[${line.source}] ${line.text}\n`))
        })
      }).pipe(
        Effect.provide(runner.pipe(Layer.provide(installation))),
        Effect.tapError((error) => args.json ? Console.log(JSON.stringify(internal.errorJson(error))) : Effect.void)
      )
      yield* Console.log(JSON.stringify(internal.summary(result)))
    })
).pipe(Command.withDescription("Run a job folder or ZIP on FLARE: the simulator, a throw-away POC, or a server"))

// ---------------------------------------------------------------------------------------------------------------
// deploy

const deploymentDir = Options.directory("dir").pipe(
  Options.optional,
  Options.withDescription("Where the deployment's folder is made (removed at the end); default a temporary folder")
)

const deploy = Command.make(
  "deploy",
  { sites, sitesFile, deploymentDir, venv, quiet },
  (args) =>
    Effect.gen(function*() {
      const siteList = yield* internal.collectSites({
        sites: args.sites,
        dataset2gw: Option.none(),
        sitesFile: args.sitesFile
      })
      const installation = Option.match(args.venv, {
        onNone: () => FlareInstallation.layer,
        onSome: FlareInstallation.layerVenv
      })
      yield* Effect.scoped(Effect.gen(function*() {
        const deployment = yield* Deployment.start({
          sites: siteList,
          ...(Option.isSome(args.deploymentDir) ? { directory: args.deploymentDir.value } : {}),
          ...(args.quiet ? {} : {
            onLog: (source: string, text: string) =>
              Effect.sync(() => void process.stderr.write(`[${source}] ${text}\n`))
          })
        })
        yield* Console.log(JSON.stringify(deployment))
        // Until interrupted (Ctrl-C): then the scope shuts the deployment down through FLARE's API.
        return yield* Effect.never
      })).pipe(Effect.provide(installation))
    })
).pipe(
  Command.withDescription(
    "Provision and start a local production-like FLARE deployment (server, the sites, an admin) on loopback, print " +
      "its admin startup kit as JSON, and shut it down on Ctrl-C"
  )
)

/**
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("fedkit-job").pipe(
  Command.withSubcommands([pack, runJob, deploy]),
  Command.withDescription("Reproducible NVIDIA FLARE job packages, and running them on FLARE")
)

/**
 * @since 0.1.0
 * @category commands
 */
export const run = Command.run(command, { name: "fedkit-job", version: packageVersion })

/**
 * `fedkit-job` under fedkit's CLI policy: a failure is one line `fedkit-job: <message>` (and, with `run --json`, its
 * JSON object on stdout), exit code 1.
 *
 * @since 0.1.0
 * @category commands
 */
export const program: CliMain.Program<unknown> = { name: "fedkit-job", version: packageVersion }
