/** The inputs and outputs of `fedkit-job` (see `Cli.ts`): files it reads, the sites it runs, what it prints. */
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as path from "node:path"
import { CliInputError } from "../Cli.js"
import type * as FlareInstallation from "../FlareInstallation.js"
import * as FlareRunner from "../FlareRunner.js"
import type * as JobPackage from "../JobPackage.js"
import * as JobPath from "../JobPath.js"
import * as JobStore from "../JobStore.js"
import * as Poc from "../Poc.js"
import * as Remote from "../Remote.js"
import * as Simulator from "../Simulator.js"
import * as fs from "./files.js"

const readJson = (file: string) =>
  fs.readFileString(file).pipe(
    Effect.mapError((error) => new CliInputError({ reason: `cannot read ${file}: ${error.message}` })),
    Effect.flatMap((text) =>
      Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: (error) => new CliInputError({ reason: `${file} is not JSON: ${String(error)}` })
      })
    )
  )

export const decodeFile = <A, I>(schema: Schema.Schema<A, I>, file: string, what: string) =>
  Effect.flatMap(readJson(file), (value) =>
    Schema.decodeUnknown(schema, { onExcessProperty: "error" })(value).pipe(
      Effect.mapError((error) => new CliInputError({ reason: `${file} is not ${what}: ${error.message}` }))
    ))

const FileMap = Schema.Record({ key: Schema.String, value: Schema.Unknown })
export const StringMap = Schema.Record({ key: Schema.String, value: Schema.String })
const SitesFile = Schema.Record({
  key: Schema.String,
  value: Schema.Struct({
    env: Schema.optionalWith(StringMap, { exact: true }),
    secretEnv: Schema.optionalWith(StringMap, { exact: true })
  })
})

const jobName = (fallback: string, files: Readonly<Record<string, unknown>>) => {
  const meta = files["meta.json"]
  const fromMeta = typeof meta === "object" && meta !== null ? (meta as { name?: unknown }).name : undefined
  return typeof fromMeta === "string" && JobPath.JOB_NAME_PATTERN.test(fromMeta) ? fromMeta : fallback
}

/** `fedkit-job pack`: a file map or a job folder, checked (with custom code added), written. */
export const pack = (args: {
  readonly input: string
  readonly out: string
  readonly zip: boolean
  readonly name: Option.Option<string>
  readonly custom: Option.Option<HashMap.HashMap<string, string>>
  readonly flareVersion: "2.9" | "2.8"
  readonly replace: boolean
}) =>
  Effect.gen(function*() {
    const info = yield* fs.stat(args.input).pipe(
      Effect.mapError((error) => new CliInputError({ reason: error.message }))
    )
    const customFolders = Option.match(args.custom, {
      onNone: () => ({}),
      onSome: (map) => Object.fromEntries(HashMap.toEntries(map))
    })
    let pkg: JobPackage.JobPackage
    if (info.type === "Directory") {
      // A job folder (e.g. what `secure-runtime render` wrote), checked as it is, then with the custom code added.
      const read = yield* JobStore.read(args.input, { target: args.flareVersion })
      pkg = Option.isNone(args.name) && Option.isNone(args.custom) ? read : yield* JobStore.pack({
        name: Option.getOrElse(args.name, () => read.name),
        files: Object.fromEntries(read.files.map((file) => [file.path, file.data])),
        customFolders,
        target: args.flareVersion
      })
    } else {
      const files = yield* decodeFile(FileMap, args.input, "a file map (a JSON object: path → content)")
      const fallback = path.basename(args.input).replace(/\.json$/, "")
      pkg = yield* JobStore.pack({
        name: Option.getOrElse(args.name, () => jobName(fallback, files)),
        files: files as Record<string, JobPackage.FileContent>,
        customFolders,
        target: args.flareVersion
      })
    }
    const written = yield* JobStore.write(pkg, { outDir: args.out, zip: args.zip, replace: args.replace })
    yield* Console.log(JSON.stringify({ job: pkg.name, ...written }))
  })

/** A run's error for machines: its tag, its one-line message and its facts (e.g. `site` and `reason`). */
export const errorJson = (
  error: FlareRunner.RunError | FlareInstallation.FlareNotFound
): { readonly error: Readonly<Record<string, unknown>> } => ({
  error: { ...error, _tag: error._tag, message: error.message }
})

const secretFromEnv = (site: string, variable: string) =>
  Config.redacted(variable).pipe(
    Effect.mapError(() =>
      new CliInputError({ reason: `site ${site}: the secret's variable ${variable} is not set in this environment` })
    )
  )

export const collectSites = (args: {
  readonly sites: ReadonlyArray<string>
  readonly dataset2gw: Option.Option<string>
  readonly sitesFile: Option.Option<string>
}) =>
  Effect.gen(function*() {
    const gateways = Option.isSome(args.dataset2gw)
      ? FlareRunner.gatewaysOf(yield* decodeFile(StringMap, args.dataset2gw.value, "a dataset → gateway map"))
      : []
    const specs = Option.isSome(args.sitesFile)
      ? yield* decodeFile(SitesFile, args.sitesFile.value, "a sites file")
      : {}
    const names = [...new Set([...gateways, ...args.sites, ...Object.keys(specs)])]
    return yield* Effect.forEach(names, (site) =>
      Effect.gen(function*() {
        const spec = specs[site]
        const secrets: Record<string, Redacted.Redacted<string>> = {}
        for (const [variable, source] of Object.entries(spec?.secretEnv ?? {})) {
          secrets[variable] = yield* secretFromEnv(site, source)
        }
        return { name: site, ...(spec?.env === undefined ? {} : { env: spec.env }), secrets } satisfies FlareRunner.Site
      }))
  })

export const summary = (result: FlareRunner.RunResult) => ({
  target: result.target,
  job: result.job,
  jobId: result.jobId,
  status: result.status,
  exitCode: Option.getOrNull(result.exitCode),
  workspace: result.workspace,
  runDir: result.runDir,
  globalModel: Option.getOrNull(result.globalModel),
  metrics: {
    summary: Option.getOrNull(result.metrics.summary),
    rounds: result.metrics.rounds,
    crossSiteValidation: Option.getOrNull(result.metrics.crossSiteValidation)
  },
  logs: { server: Option.getOrNull(result.logs.server), sites: result.logs.sites }
})

export const runnerLayer = (args: {
  readonly target: FlareRunner.Target
  readonly startupKit: Option.Option<string>
  readonly username: Option.Option<string>
  readonly study: Option.Option<string>
}): Effect.Effect<
  Layer.Layer<
    FlareRunner.FlareRunner,
    never,
    FlareRunner.RunnerContext
  >,
  CliInputError
> => {
  if (args.target === "simulator") return Effect.succeed(Simulator.layer())
  if (args.target === "poc") return Effect.succeed(Poc.layer())
  if (Option.isNone(args.startupKit) || Option.isNone(args.username)) {
    return Effect.fail(new CliInputError({ reason: "--target remote needs --startup-kit and --username" }))
  }
  return Effect.succeed(Remote.layer({
    startupKit: args.startupKit.value,
    username: args.username.value,
    ...(Option.isSome(args.study) ? { study: args.study.value } : {})
  }))
}
