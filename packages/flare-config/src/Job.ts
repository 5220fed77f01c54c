/**
 * A whole FLARE job: `meta.json` plus its apps, each with a server config, a client config and `custom/` files, for
 * one target FLARE release. {@link toFiles} checks the job and writes it as canonical files; {@link fromFiles}
 * reads an existing job folder's files back.
 *
 * @since 0.1.0
 */
import type * as Brand from "effect/Brand"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as CanonicalJson from "./CanonicalJson.js"
import * as Catalog from "./Catalog.js"
import * as ClientConfig from "./ClientConfig.js"
import { defaultTarget, FlareTarget } from "./FlareTarget.js"
import { checkedWith, isChecked, markChecked } from "./internal/checked.js"
import * as configFile from "./internal/configFile.js"
import { decodeWith, parseJson, validateWith } from "./internal/decode.js"
import { locate } from "./internal/locate.js"
import * as paths from "./internal/paths.js"
import { opt, recordWithKeys, RelativePath, relativePathArbitrary, relativePathProblem } from "./internal/schemas.js"
import { DecodeError, Issue, jsonPath } from "./Issue.js"
import * as JobCheck from "./JobCheck.js"
import * as JobMeta from "./JobMeta.js"
import * as ServerConfig from "./ServerConfig.js"

/**
 * One app: what the sites it is deployed to run. `custom` maps paths inside the app's `custom/` folder to file
 * contents (the trainer script, modules named by class paths); FLARE puts that folder on the trainer's `PYTHONPATH`
 * and runs external trainers with the app folder as working directory (`custom/train.py`).
 *
 * @since 0.1.0
 */
export const App = Schema.Struct({
  server: opt(ServerConfig.ServerConfig),
  client: opt(ClientConfig.ClientConfig),
  custom: Schema.optionalWith(recordWithKeys(Schema.String, relativePathProblem, relativePathArbitrary), {
    default: () => ({}),
    exact: true
  })
}).annotations({ identifier: "App", parseOptions: { onExcessProperty: "error" } })

/**
 * @since 0.1.0
 */
export type App = typeof App.Type

/**
 * A FLARE job for one target release (default `"2.9"`).
 *
 * @since 0.1.0
 */
export const FlareJob = Schema.Struct({
  meta: JobMeta.JobMeta,
  apps: JobMeta.byAppName(App),
  target: Schema.optionalWith(FlareTarget, { default: () => defaultTarget, exact: true })
}).annotations({ identifier: "FlareJob", parseOptions: { onExcessProperty: "error" } })

/**
 * @since 0.1.0
 */
export type FlareJob = typeof FlareJob.Type

const validateJob = validateWith(FlareJob, "FlareJob")
const decodeJob = decodeWith(FlareJob, "FlareJob")

/**
 * A job whose meta and configs are each already checked (made by their builders or read from files): only what they
 * are put together with, app names, custom files and the target, is left to check.
 */
const validateAssembled = validateWith(
  Schema.Struct({
    meta: checkedWith(JobMeta.JobMeta),
    apps: JobMeta.byAppName(
      Schema.Struct({
        ...App.fields,
        server: opt(checkedWith(ServerConfig.ServerConfig)),
        client: opt(checkedWith(ClientConfig.ClientConfig))
      }).annotations({ parseOptions: { onExcessProperty: "error" } })
    ),
    target: FlareJob.fields.target
  }).annotations({ parseOptions: { onExcessProperty: "error" } }),
  "FlareJob"
)

/** Marks a checked job's parts as checked too, so writing them trusts them (see `configFile.write`). */
const markParts = (job: FlareJob): FlareJob => {
  markChecked(FlareJob, job)
  markChecked(JobMeta.JobMeta, job.meta)
  for (const app of Object.values(job.apps)) {
    if (app.server !== undefined) markChecked(ServerConfig.ServerConfig, app.server)
    if (app.client !== undefined) markChecked(ClientConfig.ClientConfig, app.client)
  }
  return job
}

/**
 * Builds a job from typed parts, checking their shapes: parts their own builders made (`JobMeta.make`,
 * `ServerConfig.make`, …) were checked there and are not walked again. Whole-job rules (references, deploy_map,
 * target) are checked by {@link toFiles} and `JobCheck.check`. The job is frozen.
 *
 * @since 0.1.0
 */
export const make = (input: {
  readonly meta: JobMeta.JobMeta
  readonly apps: Readonly<Record<string, AppInput>>
  readonly target?: FlareTarget
}): Either.Either<FlareJob, DecodeError> => {
  const job = {
    target: input.target ?? defaultTarget,
    meta: input.meta,
    apps: Object.fromEntries(Object.entries(input.apps).map(([name, app]) => [name, { custom: {}, ...app }]))
  }
  const assembled = validateAssembled(job)
  return Either.map(Either.isRight(assembled) ? assembled : validateJob(job), markParts)
}

const isValidFlareJob = Schema.is(FlareJob)

/**
 * Whether `u` is a {@link FlareJob}: one {@link make} built is known at once, any other value is checked. (Writing a
 * job encodes every config that was not checked through its schema, which checks it again.)
 *
 * @since 0.1.0
 */
export const isFlareJob = (u: unknown): u is FlareJob => isChecked(FlareJob, u) || isValidFlareJob(u)

/**
 * An app as {@link make} takes it: `custom` may be left out.
 *
 * @since 0.1.0
 */
export type AppInput = Omit<App, "custom"> & { readonly custom?: App["custom"] }

/**
 * The relative path of a job file: `meta.json`, `<app>/config/<file>`, `<app>/custom/<path>`.
 *
 * @since 0.1.0
 */
export const filePath = paths.filePath

// Catalog arguments FLARE reads with isinstance(x, float) (see CanonicalJson.StringifyOptions).
const floatPaths = (config: ServerConfig.ServerConfig | ClientConfig.ClientConfig): ReadonlySet<string> =>
  new Set(
    locate(config).flatMap((item) =>
      Option.match(Catalog.byPath(item.component.path), {
        onNone: () => [],
        onSome: (entry) =>
          entry.floats
            .filter((name) => typeof item.component.args[name] === "number")
            .map((name) => jsonPath([...item.path, "args", name]))
      })
    )
  )

/**
 * The job's files without checking it: for a job `JobCheck.prepare` already returned.
 *
 * @since 0.1.0
 */
export const render = (job: FlareJob): Readonly<Record<string, string>> => {
  const files: Record<string, string> = { [filePath.meta]: JobMeta.toJson(job.meta) }
  for (const name of Object.keys(job.apps).sort()) {
    const app = job.apps[name]
    if (app === undefined) continue
    if (app.server !== undefined) {
      files[filePath.server(name)] = configFile.write(ServerConfig.ServerConfig, app.server, {
        floats: floatPaths(app.server)
      })
    }
    if (app.client !== undefined) {
      files[filePath.client(name)] = configFile.write(ClientConfig.ClientConfig, app.client, {
        floats: floatPaths(app.client)
      })
    }
    for (const path of Object.keys(app.custom).sort()) files[filePath.custom(name, path)] = app.custom[path] ?? ""
  }
  return files
}

/**
 * A job's files that passed every whole-job check for a target: what {@link toFiles} and {@link checkFiles} return.
 * They are frozen and recognised by {@link checkedTarget} (a brand alone can be cast; this cannot be forged), so a
 * packager can trust them instead of reading them back and checking them again: check once, at the boundary.
 *
 * @since 0.1.0
 */
export type CheckedFiles = Readonly<Record<string, string>> & Brand.Brand<"@fedkit/flare-config/CheckedFiles">

const checkedTargets = new WeakMap<object, FlareTarget>()

/** The order of a job's files: `meta.json` then each app's (as in the job folder), or all by path. */
type FileOrder = "folder" | "path"

const seal = (files: Readonly<Record<string, string>>, target: FlareTarget, order: FileOrder): CheckedFiles => {
  const paths = order === "path" ? Object.keys(files).sort() : Object.keys(files)
  const sealed = Object.freeze(Object.fromEntries(paths.map((path) => [path, files[path] ?? ""])))
  checkedTargets.set(sealed, target)
  return sealed as CheckedFiles
}

/**
 * The target `files` were checked for, when they are {@link CheckedFiles} made by this module; `undefined` for any
 * other value, which must then be checked.
 *
 * @since 0.1.0
 */
export const checkedTarget = (files: unknown): FlareTarget | undefined =>
  typeof files === "object" && files !== null ? checkedTargets.get(files) : undefined

/**
 * Checks the whole job (see `JobCheck`), applies its target, and returns its files: relative path → content, JSON
 * files in canonical form, `meta.json` first (or, with `order: "path"`, sorted by path). The same job always gives
 * byte-identical files. Fails with every issue found. Nothing in it waits: the answer is an `Either`, which is also
 * an `Effect`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Job } from "@fedkit/flare-config"
 *
 * declare const job: Job.FlareJob
 * const files = Job.toFiles(job) // Either<CheckedFiles, JobCheckError>: synchronous, and an Effect too
 * const program = Effect.map(files, (written) => Object.keys(written))
 * ```
 *
 * @since 0.1.0
 */
export const toFiles = (
  job: FlareJob,
  options: { readonly order?: FileOrder } = {}
): Either.Either<CheckedFiles, JobCheck.JobCheckError> =>
  Either.map(JobCheck.prepare(job), (prepared) => seal(render(prepared), prepared.target, options.order ?? "folder"))

/**
 * Checks a job's files as they are (read with {@link fromFiles} for `target`, default `"2.9"`, then checked as a
 * whole with `JobCheck`) and returns them as {@link CheckedFiles}, sorted by path. Fails with every issue found.
 *
 * @since 0.1.0
 */
export const checkFiles = (
  files: Readonly<Record<string, string>>,
  options: { readonly target?: FlareTarget } = {}
): Either.Either<CheckedFiles, DecodeError | JobCheck.JobCheckError> =>
  Either.flatMap(fromFiles(files, options), (job): Either.Either<CheckedFiles, JobCheck.JobCheckError> => {
    const [first, ...rest] = JobCheck.check(job)
    return first === undefined
      ? Either.right(seal(files, job.target, "path"))
      : Either.left(new JobCheck.JobCheckError({ issues: [first, ...rest] }))
  })

type Slot = "server" | "client" | "custom"

const classify = (
  path: string
): { readonly app: string; readonly slot: Slot; readonly rest: string } | "meta" | undefined => {
  if (path === filePath.meta) return "meta"
  const [app, folder, ...rest] = path.split("/")
  if (app === undefined || folder === undefined || rest.length === 0) return undefined
  const tail = rest.join("/")
  if (folder === "config" && tail === ServerConfig.FILE) return { app, slot: "server", rest: tail }
  if (folder === "config" && tail === ClientConfig.FILE) return { app, slot: "client", rest: tail }
  if (folder === "custom") return { app, slot: "custom", rest: tail }
  return undefined
}

/**
 * Reads a job folder's files (relative path → text, as {@link toFiles} returns them): `meta.json`,
 * `<app>/config/config_fed_server.json`, `<app>/config/config_fed_client.json` and `<app>/custom/**`. Every problem
 * in every file is reported, each with its file and JSON path. HOCON/YAML configs and other files under `config/`
 * are not read (an issue says so). The result is not checked as a whole: use `JobCheck.check` or {@link toFiles}.
 *
 * @since 0.1.0
 */
export const fromFiles = (
  files: Readonly<Record<string, string>>,
  options?: { readonly target?: FlareTarget }
): Either.Either<FlareJob, DecodeError> => {
  const issues: Array<Issue> = []
  const collect = <A>(result: Either.Either<A, DecodeError>): A | undefined =>
    Either.match(result, {
      onLeft: (error) => {
        issues.push(...error.issues)
        return undefined
      },
      onRight: (value) => value
    })
  let meta: JobMeta.JobMeta | undefined
  // A Map, not an object: file paths come from outside, and an app named "__proto__" must not reach a prototype.
  interface Collected {
    server?: ServerConfig.ServerConfig
    client?: ClientConfig.ClientConfig
    readonly custom: Map<string, string>
  }
  const apps = new Map<string, Collected>()
  const appOf = (name: string): Collected => {
    const existing = apps.get(name)
    if (existing !== undefined) return existing
    const created: Collected = { custom: new Map<string, string>() }
    apps.set(name, created)
    return created
  }
  for (const path of Object.keys(files).sort()) {
    const text = files[path] ?? ""
    const kind = classify(path)
    if (kind === undefined || Either.isLeft(Schema.decodeUnknownEither(RelativePath)(path))) {
      issues.push(
        new Issue({
          file: path,
          path: "$",
          message: "not a file flare-config reads (meta.json, <app>/config/config_fed_server.json, " +
            "<app>/config/config_fed_client.json, <app>/custom/**; JSON configs only)"
        })
      )
    } else if (kind === "meta") {
      meta = collect(Either.flatMap(parseJson(path, text), decodeWith(JobMeta.JobMeta, path)))
    } else if (kind.slot === "custom") {
      appOf(kind.app).custom.set(kind.rest, text)
    } else {
      const parsed = parseJson(path, text)
      const app = appOf(kind.app)
      if (kind.slot === "server") {
        const server = collect(Either.flatMap(parsed, (input) => ServerConfig.decode(input, path)))
        if (server !== undefined) app.server = server
      } else {
        const client = collect(Either.flatMap(parsed, (input) => ClientConfig.decode(input, path)))
        if (client !== undefined) app.client = client
      }
    }
  }
  if (!(filePath.meta in files)) {
    issues.push(new Issue({ file: filePath.meta, path: "$", message: "missing: every FLARE job has a meta.json" }))
  }
  if (issues.length > 0 || meta === undefined) return Either.left(new DecodeError({ issues }))
  // Object.fromEntries defines own properties, so even a "__proto__" app arrives as a key (and is refused as a name).
  return make({
    meta,
    apps: Object.fromEntries(
      [...apps].map(([name, app]) => [name, { ...app, custom: Object.fromEntries(app.custom) }])
    ),
    ...(options?.target === undefined ? {} : { target: options.target })
  })
}

/**
 * The job with its apps encoded as FLARE JSON, for storing a `FlareJob` as JSON.
 *
 * @since 0.1.0
 */
export const encode = (job: FlareJob): CanonicalJson.JsonObject =>
  Schema.encodeSync(FlareJob)(job) as CanonicalJson.JsonObject

/**
 * Decodes what {@link encode} wrote.
 *
 * @since 0.1.0
 */
export const decode: (input: unknown) => Either.Either<FlareJob, DecodeError> = (input) =>
  Either.map(decodeJob(input), markParts)
