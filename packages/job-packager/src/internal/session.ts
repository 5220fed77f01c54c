/**
 * Submitting a staged job folder to a running FLARE server and following it to the end, through the session driver
 * (`SESSION_DRIVER`), shared by the `poc` and `remote` targets.
 */
import { Command, type CommandExecutor, type FileSystem, Path } from "@effect/platform"
import { Duration, Effect, Option } from "effect"
import type * as FlareInstallation from "../FlareInstallation.js"
import {
  FlareCommandFailed,
  JobFailed,
  type RunRequest,
  type RunResult,
  RunTimedOut,
  type Target
} from "../FlareRunner.js"
import * as flareLogs from "./flareLogs.js"
import * as processes from "./processes.js"
import { SESSION_DRIVER } from "./python.js"
import * as run from "./run.js"

export interface Spec {
  readonly username: string
  readonly startupKit: string
  readonly study?: string
  readonly jobFolder: string
  readonly downloadDir: string
  readonly expectClients: ReadonlyArray<string>
  /** How long the expected sites may take to connect; default the whole timeout. */
  readonly clientsTimeout?: Duration.DurationInput
}

export interface Outcome {
  readonly jobId: string
  readonly status: string
  /** The folder the result was downloaded into (`<downloadDir>/<jobId>`). */
  readonly download: string
}

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
    default:
      return `${event.event}: ${String(event["detail"] ?? "")}`
  }
}

export const submitAndFollow = (
  installation: FlareInstallation.Installation,
  spec: Spec,
  options: {
    readonly target: Target
    readonly job: string
    readonly timeout: Duration.DurationInput
    readonly env: Readonly<Record<string, string>>
    readonly log: (text: string) => Effect.Effect<void>
    readonly grace?: Duration.DurationInput
  }
): Effect.Effect<Outcome, FlareCommandFailed | JobFailed | RunTimedOut, CommandExecutor.CommandExecutor> =>
  Effect.gen(function*() {
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
        : Math.max(1, Math.ceil(Duration.toSeconds(Duration.decode(spec.clientsTimeout))))
    }
    const command = Command.make(installation.python, "-c", SESSION_DRIVER, JSON.stringify(driverSpec)).pipe(
      Command.env(run.flareEnvironment(installation, options.env))
    )
    const timeoutText = Duration.format(Duration.decode(options.timeout))
    const finished = yield* processes.run(command, {
      cleanup: "tree",
      grace: options.grace ?? "10 seconds",
      onLine: (line) => {
        const event = parseEvent(line)
        if (event === undefined) return Effect.void
        events.push(event)
        return options.log(describe(event))
      }
    }).pipe(
      Effect.mapError((error) =>
        new FlareCommandFailed({ target: options.target, step: "start the FLARE session", flareError: error.message })
      ),
      // The driver enforces the deadline itself and aborts the job; this only catches a driver that hangs.
      Effect.timeoutFail({
        duration: Duration.sum(Duration.decode(options.timeout), Duration.seconds(60)),
        onTimeout: () => new RunTimedOut({ target: options.target, step: "the FLARE session", timeout: timeoutText })
      })
    )
    const done = events.find((event) => event.event === "finished")
    if (finished.exitCode === 0 && done !== undefined) {
      return {
        jobId: String(done["job_id"]),
        status: String(done["status"]),
        download: String(done["download"])
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

/** The logs of the sites a target could keep (the server's come with the downloaded result). */
export interface SiteLogs {
  readonly records: ReadonlyArray<readonly [string, ReadonlyArray<flareLogs.LogRecord>]>
  /** Site name → its `log.txt`. */
  readonly files: Readonly<Record<string, string>>
}

/** Judges a followed job by its final status and the logs (see `run.judge`), and collects its downloaded result. */
export const conclude = (
  request: RunRequest,
  followed: { readonly target: Target; readonly job: string; readonly outcome: Outcome },
  sites: SiteLogs = { records: [], files: {} }
): Effect.Effect<RunResult, JobFailed, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const { job, outcome, target } = followed
    const runDir = path.join(outcome.download, "workspace")
    const serverRecords = yield* flareLogs.readRecords(path.join(runDir, "log.json"))
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
