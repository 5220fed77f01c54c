/**
 * Submitting a staged job folder to a running FLARE server and following it to the end, through the session driver
 * (`SESSION_DRIVER`), shared by the `poc` and `remote` targets.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as path from "node:path"
import type * as FlareInstallation from "../FlareInstallation.js"
import {
  FlareCommandFailed,
  JobFailed,
  type RunRequest,
  type RunResult,
  RunTimedOut,
  type SiteFailed,
  type Target
} from "../FlareRunner.js"
import type * as JobPackage from "../JobPackage.js"
import * as fs from "./files.js"
import * as flareLogs from "./flareLogs.js"
import * as processes from "./processes.js"
import { SESSION_DRIVER } from "./python.js"
import * as run from "./run.js"
import * as siteWatch from "./siteWatch.js"

export interface Spec {
  readonly username: string
  readonly startupKit: string
  readonly study?: string
  readonly jobFolder: string
  readonly downloadDir: string
  readonly expectClients: ReadonlyArray<string>
  /** How long the expected sites may take to connect; default the whole timeout. */
  readonly clientsTimeout?: Duration.DurationInput
  /** The job streams its sites' `log.json` to the server (see {@link streamsSiteLogs}): wait for them at its end. */
  readonly siteLogs: boolean
}

export interface Outcome {
  readonly jobId: string
  readonly status: string
  /** The folder the result was downloaded into (`<downloadDir>/<jobId>`). */
  readonly download: string
  /** What the server said of the job's deployment to its sites (`job_deploy_detail`), one entry per site. */
  readonly deployDetail: ReadonlyArray<string>
}

/** How long the driver may take, once stopped, to abort the job, wait for it to end and download what it left. */
const STOP_BUDGET_SECONDS = 15
/** How long a finished job's sites may take to deliver their logs: FLARE's own bound for a site's log stream. */
const SITE_LOG_GRACE_SECONDS = 60

/**
 * Whether a job streams each site's structured log (`log.json`) to the server: FLARE's `JobLogStreamer` in a client
 * configuration. Only then do the server, and the run, learn why a site failed.
 */
export const streamsSiteLogs = (pkg: JobPackage.JobPackage): boolean =>
  pkg.files.some((file) => {
    if (!file.path.endsWith("config/config_fed_client.json")) return false
    try {
      const config = JSON.parse(new TextDecoder().decode(file.data)) as { components?: ReadonlyArray<unknown> }
      return (config.components ?? []).some((component) => {
        const { args, path } = component as { path?: unknown; args?: { log_file_name?: unknown } }
        return typeof path === "string" && path.endsWith("JobLogStreamer") && args?.log_file_name === "log.json"
      })
    } catch {
      return false
    }
  })

type Event = { readonly event: string } & Readonly<Record<string, unknown>>

const parseEvent = (line: string): Event | undefined => {
  if (!line.startsWith("{\"event\"")) return undefined
  try {
    return JSON.parse(line) as Event
  } catch {
    return undefined
  }
}

const describe = (event: Event): string => {
  switch (event.event) {
    case "connected":
      return `logged in as ${String(event["username"])}`
    case "clients":
      return `sites connected: ${(event["connected"] as ReadonlyArray<string>).join(", ")}`
    case "submitted":
      return `submitted job ${String(event["job_id"])}`
    case "status":
      return `job ${String(event["job_id"])}: ${String(event["status"])}`
    case "finished":
      return `job ${String(event["job_id"])} finished (${String(event["status"])}), result in ${
        String(event["download"])
      }`
    case "aborted":
      return `aborted job ${String(event["job_id"])}`
    case "site_logs_missing":
      return `no log reached the server from ${
        (event["sites"] as ReadonlyArray<string>).join(", ")
      } within ${SITE_LOG_GRACE_SECONDS}s of the job's end`
    default:
      return `${event.event}: ${String(event["detail"] ?? "")}`
  }
}

/* eslint-disable max-lines-per-function -- the driver's events, the site watch and the timeout race in one scope */
export const submitAndFollow = (
  installation: FlareInstallation.Installation,
  spec: Spec,
  options: {
    readonly target: Target
    readonly job: string
    readonly timeout: Duration.DurationInput
    readonly env: Readonly<Record<string, string>>
    readonly log: (text: string) => Effect.Effect<void>
    /** Shows a site's log line (redacted), for a deployment whose sites' consoles this machine cannot see. */
    readonly siteLog?: (site: string) => (text: string) => Effect.Effect<void>
    readonly request: RunRequest
    /** For the driver to stop after SIGTERM (it aborts the job and downloads what it left) before SIGKILL. */
    readonly grace?: Duration.DurationInput
  }
): Effect.Effect<
  Outcome,
  FlareCommandFailed | JobFailed | SiteFailed | RunTimedOut
> =>
  Effect.gen(function*() {
    const watch = yield* siteWatch.make
    const seconds = Math.max(1, Math.ceil(Duration.toSeconds(Duration.decode(options.timeout))))
    const events: Array<Event> = []
    const driverSpec = {
      username: spec.username,
      startup_kit: spec.startupKit,
      study: spec.study ?? "default",
      job_folder: spec.jobFolder,
      download_dir: spec.downloadDir,
      timeout: seconds,
      expect_clients: spec.expectClients,
      clients_timeout: spec.clientsTimeout === undefined
        ? seconds
        : Math.max(1, Math.ceil(Duration.toSeconds(Duration.decode(spec.clientsTimeout)))),
      stop_budget: STOP_BUDGET_SECONDS,
      site_logs: spec.siteLogs,
      site_log_grace: SITE_LOG_GRACE_SECONDS
    }
    const command: processes.Spawn = {
      command: installation.python,
      args: ["-c", SESSION_DRIVER, JSON.stringify(driverSpec)],
      env: run.flareEnvironment(installation, options.env)
    }
    const timeoutText = Duration.format(Duration.decode(options.timeout))
    const session = processes.run(command, {
      cleanup: "tree",
      // The driver aborts the job when stopped, then downloads what it left: it gets its budget and a margin.
      grace: options.grace ?? Duration.seconds(STOP_BUDGET_SECONDS + 5),
      onLine: (line) => {
        const event = parseEvent(line)
        if (event === undefined) return Effect.void
        events.push(event)
        if (event.event === "site_log") {
          const site = String(event["site"])
          const lines = (event["lines"] as ReadonlyArray<string>).map(String)
          const show = options.siteLog?.(site)
          return Effect.zipRight(
            show === undefined
              ? Effect.void
              : Effect.forEach(flareLogs.parseRecords(lines.join("\n")), (record) => show(record.message), {
                discard: true
              }),
            watch.lines(site, lines)
          )
        }
        return options.log(describe(event))
      }
    }).pipe(
      Effect.mapError((error) =>
        new FlareCommandFailed({ target: options.target, step: "start the FLARE session", flareError: error.message })
      ),
      // The driver enforces the deadline itself and aborts the job; this only catches a driver that hangs.
      Effect.timeoutFail({
        duration: Duration.sum(Duration.decode(options.timeout), Duration.seconds(SITE_LOG_GRACE_SECONDS + 60)),
        onTimeout: () => new RunTimedOut({ target: options.target, step: "the FLARE session", timeout: timeoutText })
      })
    )
    // The first site failure stops the driver, which aborts the job and keeps what it left.
    const raced = yield* Effect.raceFirst(
      Effect.map(session, (finished) => ({ finished })),
      Effect.map(watch.failed, (site) => ({ site }))
    )
    // A site's failure and the end of the job it caused can arrive together: the failure still names the cause.
    const stopped = "site" in raced
      ? raced
      : Option.match(yield* watch.poll, { onNone: () => raced, onSome: (site) => ({ site }) })
    if ("site" in stopped) {
      const submitted = events.find((event) => event.event === "submitted")
      const jobId = submitted === undefined ? undefined : String(submitted["job_id"])
      const kept = jobId === undefined ? spec.downloadDir : `${spec.downloadDir}/${jobId}`
      const workspace = (yield* fs.exists(kept).pipe(Effect.orElseSucceed(() => false))) ? kept : spec.downloadDir
      return yield* run.siteFailed(
        options.request,
        { target: options.target, job: options.job, ...(jobId === undefined ? {} : { jobId }), workspace },
        stopped.site,
        watch.reasonOf(stopped.site)
      )
    }
    const { finished } = stopped
    const done = events.find((event) => event.event === "finished")
    if (finished.exitCode === 0 && done !== undefined) {
      const detail = (done["meta"] as Readonly<Record<string, unknown>> | undefined)?.["job_deploy_detail"]
      return {
        jobId: String(done["job_id"]),
        status: String(done["status"]),
        download: String(done["download"]),
        deployDetail: Array.isArray(detail) ? detail.map(String) : []
      }
    }
    const error = events.find((event) => event.event === "error")
    const step = String(error?.["step"] ?? "the FLARE session")
    const detail = error === undefined ? undefined : String(error["detail"] ?? "")
    if (error?.["kind"] === "timeout") {
      return yield* new RunTimedOut({ target: options.target, step: `job ${step}`, timeout: timeoutText })
    }
    if (step === "submit") {
      return yield* new JobFailed({
        target: options.target,
        job: options.job,
        status: "REJECTED",
        ...(detail === undefined ? {} : { flareError: detail }),
        workspace: spec.downloadDir
      })
    }
    const stepName = step === "connect" ? "log in with the admin startup kit" : `job ${step}`
    return yield* new FlareCommandFailed({
      target: options.target,
      step: stepName,
      exitCode: finished.exitCode,
      ...(detail === undefined ? {} : { flareError: detail })
    })
  })
/* eslint-enable max-lines-per-function */

/**
 * The site logs kept with a result: `<result>/sites/<site>/log.txt` and `log.json` (see `SESSION_DRIVER`); a site's
 * file is its `log.txt`, else its `log.json`.
 */
const keptSiteLogs = (download: string) =>
  Effect.gen(function*() {
    const folder = path.join(download, "sites")
    const names = (yield* fs.readDirectory(folder).pipe(Effect.orElseSucceed(() => []))).sort()
    const records: Array<readonly [string, ReadonlyArray<flareLogs.LogRecord>]> = []
    const files: Record<string, string> = {}
    for (const site of names) {
      // A site that streams only its structured log has no `log.txt` here.
      for (const name of ["log.json", "log.txt"]) {
        const log = path.join(folder, site, name)
        if (yield* fs.exists(log).pipe(Effect.orElseSucceed(() => false))) files[site] = log
      }
      records.push([site, yield* flareLogs.readRecords(path.join(folder, site, "log.json"))])
    }
    return { records, files }
  })

/**
 * Judges a followed job by its final status and the logs (see `run.judge`): the server's, and the sites' kept with
 * the result; and collects its downloaded result.
 */
export const conclude = (
  request: RunRequest,
  followed: { readonly target: Target; readonly job: string; readonly outcome: Outcome }
): Effect.Effect<RunResult, JobFailed | SiteFailed> =>
  Effect.gen(function*() {
    const { job, outcome, target } = followed
    if (outcome.status === "FINISHED:FAILED_TO_RUN") {
      // No site ran it, so no log holds the reason: the server's account of the deployment is all there is.
      const deployment = outcome.deployDetail.length === 0 ? "no site answered" : outcome.deployDetail.join("; ")
      return yield* new JobFailed({
        target,
        job,
        jobId: outcome.jobId,
        status: outcome.status,
        flareError: `the server could not start it on its sites (deployment: ${deployment}); see the server's log`,
        workspace: outcome.download
      })
    }
    const runDir = path.join(outcome.download, "workspace")
    const serverRecords = yield* flareLogs.readRecords(path.join(runDir, "log.json"))
    const sites = yield* keptSiteLogs(outcome.download)
    yield* run.judge(
      request,
      { target, job, jobId: outcome.jobId, workspace: outcome.download },
      outcome.status === "FINISHED:COMPLETED" ? undefined : outcome.status,
      [["server", serverRecords], ...sites.records]
    )
    return yield* run.completed({
      target,
      job,
      jobId: outcome.jobId,
      status: outcome.status,
      exitCode: Option.none(),
      workspace: outcome.download,
      runDir,
      logs: { server: Option.some(path.join(runDir, "log.txt")), sites: sites.files }
    })
  })
