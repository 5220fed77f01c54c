/**
 * What every FLARE target does the same way: the runner around a target's own steps (checking the request,
 * preparing the output folder, the run's scope), staging the job, the environment of FLARE's processes, streaming
 * log lines with secrets redacted, and judging and collecting a finished run.
 */
import { JobMeta } from "@fedkit/flare-config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { createServer } from "node:net"
import * as path from "node:path"
import * as FlareInstallation from "../FlareInstallation.js"
import type { LogLine, RunError, Runner, RunRequest, RunResult, Site, Target } from "../FlareRunner.js"
import { FlareCommandFailed, FlareRunner, InvalidRunRequest, JobFailed, SiteFailed } from "../FlareRunner.js"
import type * as JobPackage from "../JobPackage.js"
import * as JobStore from "../JobStore.js"
import * as fs from "./files.js"
import * as flareLogs from "./flareLogs.js"
import * as results from "./results.js"

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
export const DEFAULT_TIMEOUT = Duration.minutes(30)

const problemOf = (
  request: RunRequest,
  options: { readonly siteEnvironment: boolean; readonly minSites: number }
): string | undefined => {
  if (request.sites.length < options.minSites) return `give at least ${options.minSites} site(s)`
  const seen = new Set<string>()
  for (const site of request.sites) {
    if (!JobMeta.SITE_NAME_PATTERN.test(site.name) || site.name.length > 64) {
      return `site name ${JSON.stringify(site.name)} is not a FLARE site name (letters, digits, _ and -, at most 64)`
    }
    if (site.name === "server") return "\"server\" is FLARE's name for the server and cannot name a site"
    if (seen.has(site.name)) return `site ${site.name} is given twice`
    seen.add(site.name)
    const names = [...Object.keys(site.env ?? {}), ...Object.keys(site.secrets ?? {})]
    if (names.length > 0 && !options.siteEnvironment) {
      return `site ${site.name} has environment variables, but a remote deployment's sites have their own environment`
    }
    if (new Set(names).size !== names.length) return `site ${site.name} gives a variable both as env and as secret`
    const bad = names.find((name) => !ENV_NAME.test(name))
    if (bad !== undefined) return `site ${site.name}: ${JSON.stringify(bad)} is not an environment variable name`
    if (Object.values(site.env ?? {}).some((value) => value.includes("\0"))) {
      return `site ${site.name}: an environment value contains NUL`
    }
  }
  const badCommon = Object.keys(request.env ?? {}).find((name) => !ENV_NAME.test(name))
  if (badCommon !== undefined) return `${JSON.stringify(badCommon)} is not an environment variable name`
  if (request.threads !== undefined) {
    if (!Number.isInteger(request.threads) || request.threads < 1 || request.threads > request.sites.length) {
      return `threads must be an integer from 1 to the number of sites (${request.sites.length})`
    }
  }
  return undefined
}

export const checkRequest = (
  target: Target,
  request: RunRequest,
  options: { readonly siteEnvironment: boolean; readonly minSites: number }
): Effect.Effect<void, InvalidRunRequest> => {
  const problem = problemOf(request, options)
  return problem === undefined ? Effect.void : Effect.fail(new InvalidRunRequest({ target, reason: problem }))
}

/**
 * The given output folder (created; it must not exist or be empty), or a new temporary one, which is removed again
 * if the run fails before writing anything into it.
 */
export const prepareOutput = (target: Target, outputDir: string | undefined) =>
  Effect.gen(function*() {
    const fail = (reason: string) => new JobStore.JobStoreError({ path: outputDir ?? "(temporary)", reason })
    if (outputDir === undefined) {
      const dir = yield* fs.makeTempDirectory({ prefix: `fedkit-${target}-` }).pipe(
        Effect.mapError((e) => fail(e.message))
      )
      yield* Effect.addFinalizer((exit) =>
        Exit.isSuccess(exit) ? Effect.void : fs.readDirectory(dir).pipe(
          Effect.flatMap((entries) => entries.length === 0 ? fs.remove(dir, { recursive: true }) : Effect.void),
          Effect.ignore
        )
      )
      return dir
    }
    const resolved = path.resolve(outputDir)
    if (yield* fs.exists(resolved).pipe(Effect.orElseSucceed(() => false))) {
      const entries = yield* fs.readDirectory(resolved).pipe(Effect.mapError((e) => fail(e.message)))
      if (entries.length > 0) {
        return yield* new InvalidRunRequest({
          target,
          reason: `the output folder ${resolved} is not empty; FLARE would wipe it, give an empty or new folder`
        })
      }
    } else {
      yield* fs.makeDirectory(resolved, { recursive: true }).pipe(Effect.mapError((e) => fail(e.message)))
    }
    return resolved
  })

/** The package, and a private folder copy of it under `dir` (FLARE signs submitted folders in place). */
export const stageJob = (job: JobPackage.JobPackage | string, dir: string) =>
  Effect.gen(function*() {
    const pkg = typeof job === "string" ? yield* JobStore.read(job) : job
    const folder = yield* JobStore.writeFolder(pkg, path.join(dir, pkg.name))
    return { pkg, folder }
  })

/** All secret values of a request, for redaction. */
export const secretsOf = (request: RunRequest): ReadonlyArray<Redacted.Redacted<string>> =>
  request.sites.flatMap((site) => Object.values(site.secrets ?? {}))

/** A site's environment for its processes (secret values revealed here, at the last moment, and nowhere else). */
export const siteEnvironment = (site: Site): Record<string, string> => {
  const env: Record<string, string> = { ...site.env }
  for (const [name, secret] of Object.entries(site.secrets ?? {})) env[name] = Redacted.value(secret)
  return env
}

/** A sink for one source's log lines: redacted, then handed to the request's `onLog`. */
export const logSink = (request: RunRequest) => {
  const redact = flareLogs.redactor(secretsOf(request))
  return (source: string) => (text: string): Effect.Effect<void> =>
    request.onLog === undefined ? Effect.void : request.onLog({ source, text: redact(text) } satisfies LogLine)
}

/** No free TCP port on 127.0.0.1: Node's reason. */
export class NoFreePort extends Schema.TaggedError<NoFreePort>()("NoFreePort", { reason: Schema.String }) {
  override get message(): string {
    return `no free TCP port on 127.0.0.1: ${this.reason}`
  }
}

/** A TCP port free on 127.0.0.1 right now. */
export const freeLoopbackPort: Effect.Effect<number, NoFreePort> = Effect.async<number, NoFreePort>((resume) => {
  const server = createServer()
  server.once("error", (error) => resume(new NoFreePort({ reason: error.message })))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(port > 0 ? Effect.succeed(port) : new NoFreePort({ reason: "no port assigned" })))
  })
})

export const timeoutText = (timeout: Duration.DurationInput): string => Duration.format(Duration.decode(timeout))

/** One run as a target's steps see it: inside the run's scope, the request checked, the output folder prepared. */
export interface Run {
  readonly installation: FlareInstallation.Installation
  readonly request: RunRequest
  /** The folder FLARE's workspace or the downloaded result goes into (see {@link prepareOutput}). */
  readonly output: string
  readonly timeout: Duration.DurationInput
  readonly log: (source: string) => (text: string) => Effect.Effect<void>
}

/** A FLARE target: what it accepts, and its own steps. */
export interface TargetSteps<Checked> {
  readonly target: Target
  readonly sites: { readonly siteEnvironment: boolean; readonly minSites: number }
  /**
   * The target's own checks of a request. They run before the output folder is prepared, so a refused request
   * leaves nothing behind; what they find (e.g. a resolved path) is handed to `run`.
   */
  readonly check: (request: RunRequest) => Effect.Effect<Checked, InvalidRunRequest>
  readonly run: (run: Run, checked: Checked) => Effect.Effect<RunResult, RunError, Scope.Scope>
}

/**
 * A `Runner` for a target: the shared checks and preparation around the target's steps.
 *
 * A run is interruptible whatever its caller's region: it forks site watchers, races the first site failure against
 * FLARE, and bounds steps with timeouts, all of which stop something by interrupting it. A fiber started inside an
 * uninterruptible region (a caller that registers a submission atomically) inherits that status, and a run in it
 * could never stop its watchers nor end.
 */
export const runner = <Checked>(
  steps: TargetSteps<Checked>
): Effect.Effect<Runner, never, FlareInstallation.FlareInstallation> =>
  Effect.gen(function*() {
    const installation = yield* FlareInstallation.FlareInstallation
    const run = (request: RunRequest) =>
      Effect.gen(function*() {
        yield* checkRequest(steps.target, request, steps.sites)
        const checked = yield* steps.check(request)
        const timeout = request.timeout ?? DEFAULT_TIMEOUT
        const log = logSink(request)
        return yield* Effect.scoped(Effect.gen(function*() {
          const output = yield* prepareOutput(steps.target, request.outputDir)
          return yield* steps.run({ installation, request, output, timeout, log }, checked)
        }))
      }).pipe(Effect.interruptible)
    return FlareRunner.of({ target: steps.target, run })
  })

/** A file-system failure while preparing a run: FLARE has not been started yet. */
export const prepareFailed = (target: Target) => (error: fs.FileError): FlareCommandFailed =>
  new FlareCommandFailed({ target, step: "prepare", flareError: error.message })

/** A private folder for the run's staged job and helper files, removed with the run's scope. */
export const privateFolder = (
  target: Target
): Effect.Effect<string, FlareCommandFailed, Scope.Scope> =>
  fs.makeTempDirectoryScoped({ prefix: `fedkit-${target}-` }).pipe(
    Effect.mapError(prepareFailed(target))
  )

/**
 * The environment of a FLARE process: the caller's variables, the installation's over them, then the target's own;
 * Python unbuffered, so that log lines stream as FLARE writes them.
 */
export const flareEnvironment = (
  installation: FlareInstallation.Installation,
  env: Readonly<Record<string, string>> | undefined,
  own: Readonly<Record<string, string>> = {}
): Record<string, string> => ({
  ...env,
  ...FlareInstallation.environment(installation),
  ...own,
  PYTHONUNBUFFERED: "1"
})

/**
 * Fails unless a finished run completed. `reported` is the failure FLARE itself reported, if any (a non-zero exit, a
 * final status other than completed); the participants' log records catch the fatal errors it does not report (see
 * `flareLogs`). A site's failure is the cause of what follows on the server, so a site that reported why it stopped
 * wins, then a site the server found stopped before anything fatal happened on it (its log never reached the
 * server), then a fatal server record, then a site's fatal record: `SiteFailed` for a site, else `JobFailed`. FLARE's
 * lines are redacted: a trainer may print what it was given.
 */
export const judge = (
  request: RunRequest,
  run: { readonly target: Target; readonly job: string; readonly jobId: string; readonly workspace: string },
  reported: string | undefined,
  records: ReadonlyArray<readonly [string, ReadonlyArray<flareLogs.LogRecord>]>,
  consoleLines: ReadonlyArray<string> = []
): Effect.Effect<void, JobFailed | SiteFailed> => {
  const redact = flareLogs.redactor(secretsOf(request))
  const sites = records.filter(([name]) => name !== "server")
  const server = records.filter(([name]) => name === "server")
  const siteReport = sites.find(([, list]) => list.some((record) => flareLogs.siteFailureOf(record)?.reported === true))
  const serverFatal = flareLogs.verdict(server).fatalAt !== undefined
  const failedSite = siteReport ?? (serverFatal ? undefined : sites.find(([, list]) => list.some(flareLogs.isFatal)))
  if (failedSite !== undefined) {
    return Effect.fail(siteFailed(request, run, failedSite[0], flareLogs.siteFailure(failedSite[1])!))
  }
  const verdict = flareLogs.verdict(records)
  if (reported === undefined && verdict.fatalAt === undefined) return Effect.void
  const serverRecords = server.flatMap(([, list]) => list)
  const firstFatal = serverRecords.findIndex(flareLogs.isFatal)
  const deadSite = serverRecords.slice(0, firstFatal < 0 ? undefined : firstFatal).map(flareLogs.deadSiteOf)
    .find((site) => site !== undefined)
  if (deadSite !== undefined) {
    return Effect.fail(
      siteFailed(
        request,
        run,
        deadSite,
        "its job process stopped and no reason reached the server (FLARE: dead job report); see the site's own log"
      )
    )
  }
  const flareError = verdict.errorLine ?? flareLogs.errorFromConsole(consoleLines)
  return Effect.fail(
    new JobFailed({
      target: run.target,
      job: run.job,
      jobId: run.jobId,
      status: reported ?? `FATAL_SYSTEM_ERROR on ${verdict.fatalAt}`,
      ...(flareError === undefined ? {} : { flareError: redact(flareError) }),
      workspace: run.workspace
    })
  )
}

/** `SiteFailed` for a run, its reason redacted. */
export const siteFailed = (
  request: RunRequest,
  run: { readonly target: Target; readonly job: string; readonly jobId?: string; readonly workspace: string },
  site: string,
  reason: string
): SiteFailed => new SiteFailed({ ...run, site, reason: flareLogs.redactor(secretsOf(request))(reason) })

/** The result of a completed run, with the artifacts FLARE wrote into its server run folder. */
export const completed = (
  result: Omit<RunResult, "globalModel" | "metrics">
): Effect.Effect<RunResult, never> =>
  Effect.map(results.discover(result.runDir), (artifacts) => {
    const { logs, ...head } = result
    return { ...head, globalModel: artifacts.globalModel, metrics: artifacts.metrics, logs }
  })
