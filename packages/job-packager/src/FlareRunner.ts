/**
 * Running a job on FLARE: one service, three implementations.
 *
 * - `Simulator.layer`: `nvflare simulator` on this machine, one simulated site per gateway, each with its own
 *   environment;
 * - `Poc.layer`: a throw-away local POC deployment (provisioned, started, used and stopped for the run);
 * - `Remote.layer`: an existing FLARE server, through an admin startup kit.
 *
 * A run stages the job (a checked package, or a job folder/ZIP that is read and checked first) into a private copy,
 * hands it to FLARE, streams FLARE's log lines, and returns where the results are: the workspace, the global
 * model, the metrics FLARE recorded. It fails with a typed error carrying FLARE's own error line. Timeouts and
 * interruption (Ctrl-C, fiber interruption) stop every process the run started.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as FlareInstallation from "./FlareInstallation.js"
import type * as JobPackage from "./JobPackage.js"
import type * as JobStore from "./JobStore.js"
import type * as JobZip from "./JobZip.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Target = "simulator" | "poc" | "remote"

/**
 * What the runners of this package (simulator, POC, remote) need to be built: the FLARE installation. (Before 0.2.0
 * also `@effect/platform`'s file system, paths and command executor; the package now uses Node's own.)
 *
 * @since 0.1.0
 * @category models
 */
export type RunnerContext = FlareInstallation.FlareInstallation

/**
 * One FLARE site (a Compute Gateway) and what its processes find in their environment, as a real gateway provides
 * it: typically `APH_API_DAL_URL`, `APH_DATA` in `env` and `APH_DAL_TOKEN` in `secrets`. Secrets reach only that
 * site's processes' environment; they are never written into the job, a file of the workspace or a log line.
 *
 * @since 0.1.0
 * @category models
 */
export interface Site {
  /** A FLARE site name: letters, digits, `_` and `-`, at most 64 characters, not `server`. */
  readonly name: string
  readonly env?: Readonly<Record<string, string>>
  readonly secrets?: Readonly<Record<string, Redacted.Redacted<string>>>
}

/**
 * One line FLARE printed, and which process printed it (`simulator`, `server`, a site name, `session`, `poc`).
 *
 * @since 0.1.0
 * @category models
 */
export interface LogLine {
  readonly source: string
  readonly text: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RunRequest {
  /** A checked package, or the path of a job folder or job ZIP (read and checked first). */
  readonly job: JobPackage.JobPackage | string
  /**
   * The sites. Simulator and POC: the sites to run (at least one). Remote: the sites to wait for before submitting
   * (a remote deployment's sites have their own environment, so `env` and `secrets` are refused there).
   */
  readonly sites: ReadonlyArray<Site>
  /** Variables for every FLARE process of the run (simulator, POC); site variables win over these. */
  readonly env?: Readonly<Record<string, string>>
  /** Simulator only: concurrent client workers, 1 to the number of sites; default one per site. */
  readonly threads?: number
  /**
   * Where results go: the simulator's workspace, or where a POC/remote job's result is downloaded. Must not exist
   * or be empty. Default: a new folder under the system's temporary folder (kept; the result names it).
   */
  readonly outputDir?: string
  /** For the whole run; default 30 minutes. */
  readonly timeout?: Duration.DurationInput
  /** Called with each of FLARE's log lines as it comes (secret values replaced by `<redacted>`). */
  readonly onLog?: (line: LogLine) => Effect.Effect<void>
}

/**
 * The metrics FLARE recorded in the server's run folder.
 *
 * @since 0.1.0
 * @category models
 */
export interface Metrics {
  /** `metrics/metrics_summary.json` (written by FLARE's `MetricsArtifactWriter`). */
  readonly summary: Option.Option<unknown>
  /** `metrics/round_metrics.jsonl`, one entry per round. */
  readonly rounds: ReadonlyArray<unknown>
  /** `cross_site_val/cross_val_results.json` (`ValidationJsonGenerator`). */
  readonly crossSiteValidation: Option.Option<unknown>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RunResult {
  readonly target: Target
  /** The job's name (its folder name). */
  readonly job: string
  /** FLARE's job id (`simulate_job` in the simulator). */
  readonly jobId: string
  /** `FINISHED:COMPLETED`: anything else is a failure. */
  readonly status: string
  /** The simulator process's exit code. */
  readonly exitCode: Option.Option<number>
  /** The simulator workspace, or the folder the job's result was downloaded to. */
  readonly workspace: string
  /** The server's run folder inside `workspace`, which holds the artifacts. */
  readonly runDir: string
  readonly globalModel: Option.Option<string>
  readonly metrics: Metrics
  /** Log files: the server's job log and each site's (`log.txt`), where the target makes them available. */
  readonly logs: {
    readonly server: Option.Option<string>
    readonly sites: Readonly<Record<string, string>>
  }
}

/**
 * The request cannot be run as asked (bad site names, variables for unknown sites, a non-empty output folder, …).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRunRequest extends Schema.TaggedError<InvalidRunRequest>()("InvalidRunRequest", {
  target: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot run on FLARE ${this.target}: ${this.reason}`
  }
}

/**
 * A FLARE command around the job failed (provisioning, starting or stopping a deployment, logging in): the job may
 * not have run at all.
 *
 * @since 0.1.0
 * @category errors
 */
export class FlareCommandFailed extends Schema.TaggedError<FlareCommandFailed>()("FlareCommandFailed", {
  target: Schema.String,
  step: Schema.String,
  exitCode: Schema.optional(Schema.Number),
  flareError: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `FLARE ${this.target}: ${this.step} failed` +
      (this.exitCode === undefined ? "" : ` (exit ${this.exitCode})`) +
      (this.flareError === undefined ? "" : `: ${this.flareError}`)
  }
}

/**
 * The job ran on FLARE and did not complete: a non-zero exit, a fatal error in a server or site log, or a final
 * status other than `FINISHED:COMPLETED`. `flareError` is FLARE's own error line.
 *
 * @since 0.1.0
 * @category errors
 */
export class JobFailed extends Schema.TaggedError<JobFailed>()("JobFailed", {
  target: Schema.String,
  job: Schema.String,
  jobId: Schema.optional(Schema.String),
  status: Schema.String,
  flareError: Schema.optional(Schema.String),
  workspace: Schema.String
}) {
  override get message(): string {
    return `job ${this.job} failed on FLARE ${this.target} (${this.status})` +
      (this.flareError === undefined ? "" : `: ${this.flareError}`) + `; logs under ${this.workspace}`
  }
}

/**
 * A site (a gateway) failed while the job ran, and the run was stopped at once rather than left waiting for it.
 * `reason` is the site's own report (a line `fedkit-site-failure: <reason>` its trainer printed, see
 * {@link SITE_FAILURE_MARKER}), else FLARE's fatal line from that site's log; secret values are redacted from it.
 *
 * @since 0.1.0
 * @category errors
 */
export class SiteFailed extends Schema.TaggedError<SiteFailed>()("SiteFailed", {
  target: Schema.String,
  job: Schema.String,
  jobId: Schema.optional(Schema.String),
  site: Schema.String,
  reason: Schema.String,
  workspace: Schema.String
}) {
  override get message(): string {
    return `site ${this.site} failed: ${this.reason}; job ${this.job} on FLARE ${this.target} was stopped, ` +
      `logs under ${this.workspace}`
  }
}

/**
 * What a trainer prints, as one line of its output, when it cannot go on and knows why:
 * `fedkit-site-failure: <reason>`. The reason must be fit for any log (a type, a place and fixed text, never a token
 * or a data value): it reaches the run's error (`SiteFailed`), and on a deployment the server, through the site's log
 * stream. A job streams its sites' logs to the server with FLARE's `JobLogStreamer` (for `log.json`) in its client
 * configuration.
 *
 * @since 0.1.0
 * @category sites
 */
export const SITE_FAILURE_MARKER = "fedkit-site-failure:"

/**
 * The run, or one of its steps, took longer than allowed. Every process the run started has been stopped.
 *
 * @since 0.1.0
 * @category errors
 */
export class RunTimedOut extends Schema.TaggedError<RunTimedOut>()("RunTimedOut", {
  target: Schema.String,
  step: Schema.String,
  timeout: Schema.String,
  workspace: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `FLARE ${this.target}: ${this.step} did not finish within ${this.timeout}` +
      (this.workspace === undefined ? "" : `; logs under ${this.workspace}`)
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export type RunError =
  | InvalidRunRequest
  | FlareCommandFailed
  | JobFailed
  | SiteFailed
  | RunTimedOut
  | JobStore.JobStoreError
  | JobPackage.InvalidJob
  | JobZip.InvalidArchive

/**
 * @since 0.1.0
 * @category models
 */
export interface Runner {
  readonly target: Target
  readonly run: (request: RunRequest) => Effect.Effect<RunResult, RunError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class FlareRunner extends Context.Tag("@fedkit/job-packager/FlareRunner")<FlareRunner, Runner>() {}

/**
 * Runs a job with the runner in context.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (request: RunRequest): Effect.Effect<RunResult, RunError, FlareRunner> =>
  Effect.flatMap(FlareRunner, (runner) => runner.run(request))

/**
 * The distinct gateways of a runtime's `dataset2gw` (dataset id → gateway id), sorted: the site names to run.
 *
 * @since 0.1.0
 * @category sites
 */
export const gatewaysOf = (dataset2gw: Readonly<Record<string, string>>): ReadonlyArray<string> =>
  [...new Set(Object.values(dataset2gw))].sort()

/**
 * A test layer beside the live ones (`Simulator.layer`, `Poc.layer`, `Remote.layer`): a `FlareRunner` answering with
 * the given implementation, built with Effect's `Layer.mock`, so `run` left out dies with an `UnimplementedError`
 * instead of starting FLARE. For code that submits jobs and needs no engine to be tested.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerTest = (
  implementation: { readonly target: Target } & Partial<Pick<Runner, "run">>
): Layer.Layer<FlareRunner> => Layer.mock(FlareRunner, implementation)
