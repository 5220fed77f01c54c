/**
 * The FLARE 2.9 job that federates this model, as the Secure Runtime renders it (`secure_runtime_service`), made
 * runnable without the model image: the bridge and the trainer bundle go into the job's `custom/` folder.
 */
import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Job, type JobCheck } from "@fedkit/flare-config"
import type { DecodeError } from "@fedkit/flare-config/Issue"
import { FlareRunner } from "@fedkit/job-packager"
import type { Rejection, Runtime } from "@fedkit/runtime-core"
import { Data, Deferred, type Duration, Effect, Option, type Redacted } from "effect"
import { fileURLToPath } from "node:url"
import * as Bridge from "./Bridge.js"
import * as DalFixture from "./DalFixture.js"
import runtime, { type Payload } from "./secure_runtime/secure_runtime_service.js"

/** Where `pnpm build` puts the bridge and the trainer bundle. */
export const DEFAULT_CUSTOM_DIR = fileURLToPath(new URL("../dist/flare/custom", import.meta.url))

/** What goes into `custom/`: file name → content. */
export type CustomFiles = Readonly<Record<string, string>>

/** Reads the bridge and the trainer bundle from a built folder. */
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

/** The Secure Runtime's job for a payload (its JSON form) and a `dataset2gw` map. */
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
 */
export const withTrainer = (job: Job.FlareJob, custom: CustomFiles): Effect.Effect<Job.FlareJob, DecodeError> =>
  Job.make({
    meta: job.meta,
    apps: Object.fromEntries(
      Object.entries(job.apps).map(([name, app]) => [name, app.client === undefined ? app : { ...app, custom }])
    ),
    target: job.target
  })

/** Checks the job and writes its files below `dir` (each to a temporary name first, then renamed). */
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

/** A simulated gateway: its dataset on the DAL and its own bearer token. */
export interface SimulatedGateway {
  readonly gateway: DalFixture.Gateway
  readonly token: Redacted.Redacted<string>
  /** This gateway's own DAL, when it is not the shared one (`dalUrl`). */
  readonly dalUrl?: string
  /** More `APH_*` settings of this gateway only (e.g. `APH_RETRIES`). */
  readonly env?: Readonly<Record<string, string>>
}

/**
 * A gateway's bridge refused or failed (policy, DAL, data, …) and the run was stopped: `reason` is the bridge's
 * sanitized sentence (type, place, fixed text and identifiers; never a token or a data value).
 */
export class GatewayFailed extends Data.TaggedError("GatewayFailed")<{
  readonly site: string
  readonly reason: string
  readonly workspace: string
}> {
  override get message(): string {
    return `gateway ${this.site} failed: ${this.reason}; the run was stopped, FLARE's logs are under ${this.workspace}`
  }
}

// What the bridge logs when it gives up, with the site it read from FLARE's Client API bootstrap file.
const BRIDGE_FAILURE = /fedkit-bridge: \[([A-Za-z0-9_-]+)\] (?:the trainer refused or failed|failed): (.+)$/

/** The site and reason of a bridge failure line, if `text` is one. */
export const bridgeFailure = (text: string): Option.Option<{ readonly site: string; readonly reason: string }> => {
  const match = BRIDGE_FAILURE.exec(text.trimEnd())
  return match === null ? Option.none() : Option.some({ site: match[1]!, reason: match[2]! })
}

/** One site's round as the bridge logs it: `fedkit-bridge: [site] round N: phase on R rows k=v …`. */
export interface SiteRound {
  readonly site: string
  readonly round: number
  readonly phase: string
  readonly samples: number
  readonly metrics: Readonly<Record<string, number>>
}

const BRIDGE_ROUND = /fedkit-bridge: \[([A-Za-z0-9_-]+)\] round (\d+): (\w+) on (\d+) rows((?: \w+=[-\d.eE]+)*)\s*$/

/** The site round a log line reports, if it is one. */
export const siteRound = (text: string): Option.Option<SiteRound> => {
  const match = BRIDGE_ROUND.exec(text)
  if (match === null) return Option.none()
  const metrics = Object.fromEntries(
    match[5]!.trim().split(" ").filter((pair) => pair !== "").map((pair) => {
      const [key, value] = pair.split("=")
      return [key!, Number(value)]
    })
  )
  return Option.some({
    site: match[1]!,
    round: Number(match[2]),
    phase: match[3]!,
    samples: Number(match[4]),
    metrics
  })
}

/**
 * Writes the job to `jobDir` and runs it with the FLARE runner in context (`@fedkit/job-packager`'s simulator): one
 * site per gateway, named as in `dataset2gw`, each with its own `APH_DATA` and `APH_DAL_TOKEN` (a secret: only in that
 * site's processes, redacted from the log lines), and `APH_API_DAL_URL` for all. The job itself carries no setting.
 *
 * FLARE keeps the other sites waiting for a gateway that exits before its handshake (the server waits for
 * `min_clients`), so the first bridge failure in the log stops the run at once (every FLARE process is stopped) and
 * fails it with `GatewayFailed`, naming the site and the reason.
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
  Effect.gen(function*() {
    yield* write(options.jobDir, options.job)
    const failed = yield* Deferred.make<GatewayFailed>()
    const onLog = (line: FlareRunner.LogLine) =>
      Effect.zipRight(
        options.onLog === undefined ? Effect.void : options.onLog(line),
        Option.match(bridgeFailure(line.text), {
          onNone: () => Effect.void,
          onSome: ({ reason, site }) =>
            Deferred.succeed(failed, new GatewayFailed({ site, reason, workspace: options.outputDir }))
        })
      )
    const run = FlareRunner.run({
      job: options.jobDir,
      sites: options.gateways.map(({ dalUrl, env, gateway, token }) => ({
        name: gateway.gateway,
        env: {
          ...env,
          APH_DATA: DalFixture.aphData(gateway),
          ...(dalUrl === undefined ? {} : { APH_API_DAL_URL: dalUrl })
        },
        secrets: { APH_DAL_TOKEN: token }
      })),
      env: { APH_API_DAL_URL: options.dalUrl },
      outputDir: options.outputDir,
      onLog,
      ...(options.timeout === undefined ? {} : { timeout: options.timeout })
    }).pipe(
      // A run that ended on its own after a bridge failure is reported by that failure too.
      Effect.catchAll((error): Effect.Effect<never, FlareRunner.RunError | GatewayFailed> =>
        Effect.flatMap(
          Deferred.poll(failed),
          (done): Effect.Effect<never, FlareRunner.RunError | GatewayFailed> =>
            Option.isNone(done) ? Effect.fail(error) : Effect.flatMap(done.value, Effect.fail)
        )
      )
    )
    return yield* Effect.raceFirst(run, Effect.flatMap(Deferred.await(failed), Effect.fail))
  })
