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
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as path from "node:path"
import { FlareRunner, InvalidRunRequest, type Runner, type RunnerContext } from "./FlareRunner.js"
import * as fs from "./internal/files.js"
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
  /**
   * Between SIGTERM and SIGKILL for the session process (it aborts the job and downloads what it left in between);
   * default 20 seconds.
   */
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
  RunnerContext
> =>
  run.runner({
    target: "remote",
    sites: { siteEnvironment: false, minSites: 0 },
    check: (request) =>
      Effect.gen(function*() {
        if (request.threads !== undefined || Object.keys(request.env ?? {}).length > 0) {
          return yield* new InvalidRunRequest({
            target: "remote",
            reason: "threads and env apply to local runs only; a remote deployment's sites have their own environment"
          })
        }
        const kit = path.resolve(options.startupKit)
        if (!(yield* fs.exists(path.join(kit, "startup", "fed_admin.json")).pipe(Effect.orElseSucceed(() => false)))) {
          return yield* new InvalidRunRequest({
            target: "remote",
            reason: `${kit} is not an admin startup kit (no startup/fed_admin.json)`
          })
        }
        return kit
      }),
    run: ({ installation, log, output, request, timeout }, kit) =>
      Effect.gen(function*() {
        const stage = yield* run.privateFolder("remote")
        const { folder, pkg } = yield* run.stageJob(request.job, stage)
        const outcome = yield* session.submitAndFollow(installation, {
          username: options.username,
          startupKit: kit,
          ...(options.study === undefined ? {} : { study: options.study }),
          jobFolder: folder,
          downloadDir: output,
          expectClients: request.sites.map((site) => site.name),
          siteLogs: session.streamsSiteLogs(pkg)
        }, {
          target: "remote",
          job: pkg.name,
          timeout,
          env: {},
          log: log("session"),
          siteLog: log,
          request,
          ...(options.grace === undefined ? {} : { grace: options.grace })
        })
        return yield* session.conclude(request, { target: "remote", job: pkg.name, outcome })
      })
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
  RunnerContext
> => Layer.effect(FlareRunner, make(options))
