/**
 * The FLARE 2.9 job that federates this model, as the Secure Runtime renders it (`secure_runtime_service`), made
 * runnable without the model image: the bridge and the trainer bundle go into the job's `custom/` folder.
 *
 * @since 0.1.0
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Job, type JobCheck } from "@fedkit/flare-config"
import type { DecodeError } from "@fedkit/flare-config/Issue"
import { FlareRunner } from "@fedkit/job-packager"
import type { Rejection, Runtime } from "@fedkit/runtime-core"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { fileURLToPath } from "node:url"
import * as Bridge from "./Bridge.js"
import * as DalFixture from "./DalFixture.js"
import runtime, { type Payload } from "./secure_runtime/secure_runtime_service.js"

/**
 * Where `pnpm build` puts the bridge and the trainer bundle.
 *
 * @since 0.1.0
 */
export const DEFAULT_CUSTOM_DIR = fileURLToPath(new URL("../dist/flare/custom", import.meta.url))

/**
 * What goes into `custom/`: file name → content.
 *
 * @since 0.1.0
 */
export type CustomFiles = Readonly<Record<string, string>>

/**
 * Reads the bridge and the trainer bundle from a built folder.
 *
 * @since 0.1.0
 */
export const readCustom = (
  dir: string = DEFAULT_CUSTOM_DIR
): Effect.Effect<CustomFiles, PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const entries = yield* Effect.forEach(
      [Bridge.BRIDGE_FILE, Bridge.TRAINER_FILE],
      (name) => Effect.map(fs.readFileString(path.join(dir, name)), (text) => [name, text] as const)
    )
    return Object.fromEntries(entries)
  })

/**
 * The Secure Runtime's job for a payload (its JSON form) and a `dataset2gw` map.
 *
 * @since 0.1.0
 */
export const render = (
  payload: typeof Payload.Encoded,
  dataset2gw: Readonly<Record<string, string>>
): Effect.Effect<Job.FlareJob, Runtime.TemplateError | Rejection.PayloadRejected | DecodeError> =>
  Effect.gen(function*() {
    const decoded = yield* runtime.parseEffect(JSON.stringify(payload))
    return yield* Job.fromFiles(yield* runtime.templateEffect(decoded, dataset2gw))
  })

/**
 * The job with the bridge and the trainer bundle in the `custom/` folder of every app that runs on gateways: what a
 * simulation or a deployment without the model image needs. (Per-site `APH_*` values are the sites' environment, not
 * the job's: `@fedkit/job-packager`'s simulator gives each simulated site its own.)
 *
 * @since 0.1.0
 */
export const withTrainer = (job: Job.FlareJob, custom: CustomFiles): Effect.Effect<Job.FlareJob, DecodeError> =>
  Job.make({
    meta: job.meta,
    apps: Object.fromEntries(
      Object.entries(job.apps).map(([name, app]) => [name, app.client === undefined ? app : { ...app, custom }])
    ),
    target: job.target
  })

/**
 * Checks the job and writes its files below `dir` (each to a temporary name first, then renamed).
 *
 * @since 0.1.0
 */
export const write = (
  dir: string,
  job: Job.FlareJob
): Effect.Effect<void, JobCheck.JobCheckError | PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const files = yield* Job.toFiles(job)
    for (const [relative, content] of Object.entries(files)) {
      const file = path.join(dir, relative)
      yield* fs.makeDirectory(path.dirname(file), { recursive: true })
      yield* fs.writeFileString(`${file}.tmp`, content)
      yield* fs.rename(`${file}.tmp`, file)
    }
  })

/**
 * A simulated gateway: its dataset on the DAL and its own bearer token.
 *
 * @since 0.1.0
 */
export interface SimulatedGateway {
  readonly gateway: DalFixture.Gateway
  readonly token: Redacted.Redacted<string>
  /** This gateway's own DAL, when it is not the shared one (`dalUrl`). */
  readonly dalUrl?: string
  /** More `APH_*` settings of this gateway only (e.g. `APH_RETRIES`). */
  readonly env?: Readonly<Record<string, string>>
}

/**
 * One site per gateway for `@fedkit/job-packager`'s runners, named as in `dataset2gw`, each with its own `APH_DATA`
 * and `APH_DAL_TOKEN` (a secret: only in that site's processes, redacted from log lines and errors), and its own
 * `APH_API_DAL_URL` when it has a DAL of its own. The job itself carries no setting.
 *
 * @since 0.1.0
 */
export const sitesOf = (gateways: ReadonlyArray<SimulatedGateway>): ReadonlyArray<FlareRunner.Site> =>
  gateways.map(({ dalUrl, env, gateway, token }) => ({
    name: gateway.gateway,
    env: {
      ...env,
      APH_DATA: DalFixture.aphData(gateway),
      ...(dalUrl === undefined ? {} : { APH_API_DAL_URL: dalUrl })
    },
    secrets: { APH_DAL_TOKEN: token }
  }))

/**
 * Writes the job to `jobDir` and runs it with the FLARE runner in context (simulator or POC), the gateways as sites
 * (see {@link sitesOf}) and `dalUrl` as every site's DAL. A gateway that refuses or fails stops the run at once:
 * job-packager's runners fail it with `SiteFailed`, naming the site and the bridge's sanitized reason.
 *
 * @since 0.1.0
 */
export const simulate = (options: {
  readonly job: Job.FlareJob
  readonly dalUrl: string
  readonly gateways: ReadonlyArray<SimulatedGateway>
  readonly jobDir: string
  readonly outputDir: string
  readonly onLog?: (line: FlareRunner.LogLine) => Effect.Effect<void>
  readonly timeout?: Duration.DurationInput
}) =>
  Effect.zipRight(
    write(options.jobDir, options.job),
    FlareRunner.run({
      job: options.jobDir,
      sites: sitesOf(options.gateways),
      env: { APH_API_DAL_URL: options.dalUrl },
      outputDir: options.outputDir,
      ...(options.onLog === undefined ? {} : { onLog: options.onLog }),
      ...(options.timeout === undefined ? {} : { timeout: options.timeout })
    })
  )

/**
 * One site's training round, as FLARE recorded it (the metrics and the row count the site sent with its model).
 *
 * @since 0.1.0
 */
export interface SiteRound {
  readonly site: string
  readonly round: number
  readonly samples: number
  readonly metrics: Readonly<Record<string, number>>
}

// A record of `round_metrics.jsonl` (FLARE's `MetricsArtifactWriter`), as far as it is read here.
const RoundRecord = Schema.Struct({
  round: Schema.Number,
  sites: Schema.Array(Schema.Struct({
    name: Schema.String,
    weight: Schema.optional(Schema.Number),
    metrics: Schema.Array(Schema.Struct({ name: Schema.String, value: Schema.Unknown }))
  }))
})

/**
 * Each site's rounds from the per-round metrics a run collected (`RunResult.metrics.rounds`, on every target: the
 * server's `MetricsArtifactWriter` records what each site sent). The statistics round sends no metrics, so only the
 * training rounds appear; records that do not have the expected shape are skipped.
 *
 * @since 0.1.0
 */
export const siteRounds = (rounds: ReadonlyArray<unknown>): ReadonlyArray<SiteRound> =>
  rounds.flatMap((value) =>
    Option.match(Schema.decodeUnknownOption(RoundRecord)(value), {
      onNone: () => [],
      onSome: (record) =>
        record.sites.map((site) => ({
          site: site.name,
          round: record.round,
          samples: site.weight ?? Number.NaN,
          metrics: Object.fromEntries(
            site.metrics.flatMap((metric) => typeof metric.value === "number" ? [[metric.name, metric.value]] : [])
          )
        }))
    })
  )
