/**
 * The `remote` target: an existing FLARE deployment, reached with an admin startup kit.
 *
 * The job (a private copy: submission signs the folder in place) is submitted as the given admin user, followed
 * until it finishes and its result downloaded, through the FLARE API (`nvflare.fuel.flare_api`). If the run times
 * out or is interrupted after submission, the job is aborted on the server. The request's sites, if any, are
 * waited for before submitting; their environment is the deployment's business, so site variables are refused.
 *
 * @since 0.1.0
 */
import { type CommandExecutor, FileSystem, Path } from "@effect/platform"
import { type Duration, Effect, Layer, Option } from "effect"
import * as FlareInstallation from "./FlareInstallation.js"
import {
  FlareCommandFailed,
  FlareRunner,
  InvalidRunRequest,
  JobFailed,
  type Runner,
  type RunRequest,
  type RunResult
} from "./FlareRunner.js"
import * as flareLogs from "./internal/flareLogs.js"
import * as results from "./internal/results.js"
import * as run from "./internal/run.js"
import * as session from "./internal/session.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The admin's startup kit folder (the one holding `startup/fed_admin.json`). */
  readonly startupKit: string
  /** The admin user the kit was provisioned for (its certificate's identity, e.g. `admin@example.org`). */
  readonly username: string
  /** The study to submit to; default `default`. */
  readonly study?: string
  /** Between SIGTERM and SIGKILL for the session process (it aborts the job in between); default 10 seconds. */
  readonly grace?: Duration.DurationInput
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<
  Runner,
  never,
  FlareInstallation.FlareInstallation | FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor
> =>
  Effect.gen(function*() {
    const installation = yield* FlareInstallation.FlareInstallation
    const context = yield* Effect.context<FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor>()
    const runJob = (request: RunRequest) =>
      Effect.gen(function*() {
        yield* run.checkRequest("remote", request, { siteEnvironment: false, minSites: 0 })
        if (request.threads !== undefined || Object.keys(request.env ?? {}).length > 0) {
          return yield* new InvalidRunRequest({
            target: "remote",
            reason: "threads and env apply to local runs only; a remote deployment's sites have their own environment"
          })
        }
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const kit = path.resolve(options.startupKit)
        if (!(yield* fs.exists(path.join(kit, "startup", "fed_admin.json")).pipe(Effect.orElseSucceed(() => false)))) {
          return yield* new InvalidRunRequest({
            target: "remote",
            reason: `${kit} is not an admin startup kit (no startup/fed_admin.json)`
          })
        }
        const timeout = request.timeout ?? run.DEFAULT_TIMEOUT
        const log = run.logSink(request)
        return yield* Effect.scoped(Effect.gen(function*() {
          const output = yield* run.prepareOutput("remote", request.outputDir)
          const stage = yield* fs.makeTempDirectoryScoped({ prefix: "fedkit-remote-" }).pipe(
            Effect.mapError((error) =>
              new FlareCommandFailed({ target: "remote", step: "prepare", flareError: error.message })
            )
          )
          const { folder, pkg } = yield* run.stageJob(request.job, stage)
          const outcome = yield* session.submitAndFollow(installation, {
            username: options.username,
            startupKit: kit,
            ...(options.study === undefined ? {} : { study: options.study }),
            jobFolder: folder,
            downloadDir: output,
            expectClients: request.sites.map((site) => site.name)
          }, {
            target: "remote",
            job: pkg.name,
            timeout,
            env: {},
            log: log("session"),
            ...(options.grace === undefined ? {} : { grace: options.grace })
          })
          const runDir = path.join(outcome.download, "workspace")
          const verdict = flareLogs.verdict([["server", yield* flareLogs.readRecords(path.join(runDir, "log.json"))]])
          if (outcome.status !== "FINISHED:COMPLETED" || verdict.fatalAt !== undefined) {
            return yield* new JobFailed({
              target: "remote",
              job: pkg.name,
              jobId: outcome.jobId,
              status: outcome.status === "FINISHED:COMPLETED"
                ? `FATAL_SYSTEM_ERROR on ${verdict.fatalAt}`
                : outcome.status,
              ...(verdict.errorLine === undefined ? {} : { flareError: verdict.errorLine }),
              workspace: outcome.download
            })
          }
          const artifacts = yield* results.discover(runDir)
          return {
            target: "remote",
            job: pkg.name,
            jobId: outcome.jobId,
            status: outcome.status,
            exitCode: Option.none(),
            workspace: outcome.download,
            runDir,
            globalModel: artifacts.globalModel,
            metrics: artifacts.metrics,
            logs: { server: Option.some(path.join(runDir, "log.txt")), sites: {} }
          } satisfies RunResult
        }))
      }).pipe(Effect.provide(context))
    return FlareRunner.of({ target: "remote", run: runJob })
  })

/**
 * An existing FLARE deployment as the `FlareRunner`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<
  FlareRunner,
  never,
  FlareInstallation.FlareInstallation | FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor
> => Layer.effect(FlareRunner, make(options))
