/**
 * `meta.json`: the job's name, which app goes to which site (`deploy_map`), and the scheduling and resource
 * settings a job author may set. Field names are FLARE's (`nvflare/apis/job_def.py` `JobMetaKey`).
 *
 * `deploy_map` values are read in every form FLARE accepts (`["server", "site-1"]`, `["@ALL"]`,
 * `{ "sites": [...] }`, `{ "targets": [...] }`, and lists mixing names and such objects) and held as plain site
 * lists, which is also how they are written.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import type * as FastCheck from "effect/FastCheck"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as CanonicalJson from "./CanonicalJson.js"
import { JsonObject } from "./CanonicalJson.js"
import { isChecked } from "./internal/checked.js"
import { decodeWith, parseJson, validateWith } from "./internal/decode.js"
import { jobNameArbitrary, Key, literals, NonEmptyString, opt, record, recordWithKeys } from "./internal/schemas.js"
import type { DecodeError } from "./Issue.js"

/**
 * FLARE's `JOB_NAME_PATTERN` (`nvflare/fuel/utils/validation_utils.py`), for job and app names.
 *
 * @since 0.1.0
 */
export const JOB_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

/**
 * FLARE's pattern for client (site) names (`nvflare/apis/utils/format_check.py`).
 *
 * @since 0.1.0
 */
export const SITE_NAME_PATTERN = /^[A-Za-z0-9_-]+$/

/**
 * The deploy_map entry meaning the server and every client; it must then be the only entry.
 *
 * @since 0.1.0
 */
export const ALL_SITES = "@ALL"

/**
 * The server's site name.
 *
 * @since 0.1.0
 */
export const SERVER = "server"

const nameProblem = (pattern: RegExp, what: string) => (value: string): string | undefined =>
  // RegExp#test with `$` would accept a trailing newline; these names become folder names.
  pattern.test(value) && !value.includes("\n")
    ? undefined
    : `Expected ${what} matching ${pattern.source}, actual ${JSON.stringify(value)}`

const appNameProblem = nameProblem(JOB_NAME_PATTERN, "an app name")
const siteProblem = (value: string): string | undefined =>
  value === ALL_SITES || nameProblem(SITE_NAME_PATTERN, "")(value) === undefined
    ? undefined
    : `Expected "${ALL_SITES}", "${SERVER}" or a site name matching ${SITE_NAME_PATTERN.source}, actual ${
      JSON.stringify(value)
    }`

const named = (
  identifier: string,
  problem: (value: string) => string | undefined,
  arbitrary: (fc: typeof FastCheck) => FastCheck.Arbitrary<string>
) =>
  Schema.String.pipe(
    Schema.filter((value) => problem(value) ?? true),
    Schema.annotations({ identifier, arbitrary: () => arbitrary })
  )

const siteArbitrary = (fc: typeof FastCheck) =>
  fc.oneof(fc.constant(ALL_SITES), fc.constant(SERVER), fc.stringMatching(/^site-[0-9]{1,2}$/))

/**
 * A job name; it is also the job folder's name.
 *
 * @since 0.1.0
 */
export const JobName = named("JobName", nameProblem(JOB_NAME_PATTERN, "a job name"), jobNameArbitrary)

/**
 * An app name: the folder holding one app's `config/` and `custom/`.
 *
 * @since 0.1.0
 */
export const AppName = named("AppName", appNameProblem, jobNameArbitrary)

/**
 * A deploy_map target: `"@ALL"`, `"server"` or a client site name.
 *
 * @since 0.1.0
 */
export const SiteName = named("SiteName", siteProblem, siteArbitrary)

const SiteList = Schema.Array(SiteName)

/**
 * A record keyed by app names, each key checked against FLARE's pattern at its own path.
 *
 * @since 0.1.0
 */
export const byAppName = <A, I, R>(value: Schema.Schema<A, I, R>) =>
  recordWithKeys(value, appNameProblem, jobNameArbitrary)

type Key = string | number

// extract_participants (nvflare/private/fed/utils/fed_utils.py), with every problem reported at its own path.
const participants = (
  input: unknown,
  issues: Array<{ readonly path: ReadonlyArray<Key>; readonly message: string }>
) => {
  const out: Array<string> = []
  const site = (value: unknown, path: ReadonlyArray<Key>) => {
    if (typeof value !== "string") {
      issues.push({ path, message: `Expected a site name, actual ${JSON.stringify(value)}` })
      return
    }
    const problem = siteProblem(value)
    if (problem === undefined) out.push(value)
    else issues.push({ path, message: problem })
  }
  const entry = (value: unknown, path: ReadonlyArray<Key>) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return false
    const keys = Object.keys(value)
    const [key, ...others] = keys
    if ((key !== "sites" && key !== "targets") || others.length > 0) {
      issues.push({
        path,
        message: `Expected { "sites": [...] } or { "targets": [...] }, actual keys ${JSON.stringify(keys)}`
      })
      return true
    }
    const list: unknown = (value as Record<string, unknown>)[key]
    if (!Array.isArray(list)) issues.push({ path: [...path, key], message: "Expected a list of site names" })
    else list.forEach((item, index) => site(item, [...path, key, index]))
    return true
  }
  if (typeof input === "string") site(input, [])
  else if (Array.isArray(input)) input.forEach((item, index) => entry(item, [index]) || site(item, [index]))
  else if (!entry(input, [])) issues.push({ path: [], message: "Expected a list of site names" })
  return out
}

/**
 * The sites one app is deployed to, read from any form `extract_participants` accepts.
 *
 * @since 0.1.0
 */
export const Deployment = Schema.transformOrFail(Schema.Unknown, SiteList, {
  strict: true,
  decode: (input, _options, ast) => {
    const issues: Array<{ readonly path: ReadonlyArray<Key>; readonly message: string }> = []
    const sites = participants(input, issues)
    const [first, ...rest] = issues.map(({ message, path }) => {
      const [head, ...tail] = path
      const issue = new ParseResult.Type(ast, input, message)
      return head === undefined ? issue : new ParseResult.Pointer([head, ...tail], input, issue)
    })
    return first === undefined
      ? ParseResult.succeed(sites)
      : ParseResult.fail(rest.length === 0 ? first : new ParseResult.Composite(ast, input, [first, ...rest]))
  },
  encode: ParseResult.succeed
}).annotations({ identifier: "Deployment" })

/**
 * The launcher modes `launcher_spec` may configure.
 *
 * @since 0.1.0
 */
export const LauncherMode = literals("process", "docker", "k8s", "slurm")

/**
 * `meta.json`. Server-owned fields (`job_id`, `study`, `submitter_*`, `byoc`, …) are not part of it: FLARE
 * overwrites them, so writing them would only mislead.
 *
 * @since 0.1.0
 */
export const JobMeta = Schema.Struct({
  name: JobName,
  deploy_map: byAppName(Deployment),
  /** `{ site or "@default": { ... } }`; FLARE 2.9 checks `num_of_gpus`, `num_of_cpus`, `memory` and `docker`. */
  resource_spec: opt(record(JsonObject)),
  min_clients: opt(
    Schema.Int.pipe(
      Schema.between(1, 1_000_000, { message: () => "Expected an integer from 1 to 1000000 (FLARE's MAX_CLIENTS)" })
    )
  ),
  mandatory_clients: opt(SiteList),
  /** `{ site or "default": { mode: { ... } } }`. */
  launcher_spec: opt(
    Schema.Record({
      key: Key,
      value: Schema.Struct({
        process: opt(JsonObject),
        docker: opt(JsonObject),
        k8s: opt(JsonObject),
        slurm: opt(JsonObject)
      })
        .annotations({ parseOptions: { onExcessProperty: "error" } })
    })
  ),
  /** A privacy scope name from the sites' `privacy.json`. */
  scope: opt(NonEmptyString),
  custom_props: opt(JsonObject)
}).annotations({ identifier: "JobMeta", parseOptions: { onExcessProperty: "error" } })

/**
 * @since 0.1.0
 */
export type JobMeta = typeof JobMeta.Type

/**
 * `meta.json` in its JSON form (what {@link make} and {@link decode} read).
 *
 * @since 0.1.0
 */
export type JobMetaJson = typeof JobMeta.Encoded

/**
 * The file name.
 *
 * @since 0.1.0
 */
export const FILE = "meta.json"

/**
 * Builds a `JobMeta`, checking every field.
 *
 * @example
 * ```ts
 * import { JobMeta } from "@fedkit/flare-config"
 *
 * const meta = JobMeta.make({
 *   name: "np-fedavg",
 *   deploy_map: { app_server: ["server"], app_site: ["site-1", "site-2"] },
 *   min_clients: 2
 * })
 * ```
 *
 * @since 0.1.0
 */
export const make = (input: JobMetaJson): Either.Either<JobMeta, DecodeError> => decode(input)

/**
 * Decodes parsed `meta.json` content.
 *
 * @since 0.1.0
 */
export const decode: (input: unknown) => Either.Either<JobMeta, DecodeError> = decodeWith(JobMeta, FILE)

/**
 * Decodes `meta.json` text.
 *
 * @since 0.1.0
 */
export const fromJson = (text: string): Either.Either<JobMeta, DecodeError> =>
  Either.flatMap(parseJson(FILE, text), decode)

/**
 * Checks a `JobMeta` value built in code.
 *
 * @since 0.1.0
 */
export const validate: (meta: JobMeta) => Either.Either<JobMeta, DecodeError> = validateWith(JobMeta, FILE)

/**
 * The JSON form.
 *
 * @since 0.1.0
 */
export const encode = (meta: JobMeta): CanonicalJson.JsonObject =>
  Schema.encodeSync(JobMeta)(meta) as CanonicalJson.JsonObject

/**
 * Canonical `meta.json` text.
 *
 * @since 0.1.0
 */
export const toJson = (meta: JobMeta): string =>
  // A meta this module checked (frozen) is already its JSON form; any other is encoded, which checks it.
  CanonicalJson.stringify(isChecked(JobMeta, meta) ? meta as CanonicalJson.JsonObject : encode(meta))

/**
 * The site names in a deploy_map, with `"@ALL"` and `"server"` as they appear.
 *
 * @since 0.1.0
 */
export const sites = (meta: JobMeta): ReadonlyArray<string> => Object.values(meta.deploy_map).flat()

/**
 * Whether the deploy_map uses `"@ALL"` (FLARE matches it case-insensitively).
 *
 * @since 0.1.0
 */
export const deploysToAll = (meta: JobMeta): boolean =>
  sites(meta).some((site) => site.toLowerCase() === ALL_SITES.toLowerCase())

/**
 * The client sites a deploy_map names (not `"server"`, not `"@ALL"`), each once.
 *
 * @since 0.1.0
 */
export const clients = (meta: JobMeta): ReadonlyArray<string> => [
  ...new Set(sites(meta).filter((site) => site !== SERVER && site !== ALL_SITES))
]
