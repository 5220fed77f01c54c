/**
 * The `poc` target: a throw-away local FLARE deployment for one run, made and removed with FLARE's own tooling.
 *
 * 1. `nvflare poc prepare -i project.yml`: a project with one server, one client per site (named as the request's
 *    sites) and a project admin. A project file, rather than `-n N`, names the sites and sets the port: a free
 *    loopback port chosen for this run (two runs never collide on POC's default 8002), and the server named
 *    `localhost`, which makes FLARE bind its listener to 127.0.0.1 only (it binds 0.0.0.0 otherwise).
 * 2. `nvflare poc start -p localhost`, then `nvflare poc start -p <site>` once per site, each with that site's
 *    environment (so each gateway gets its own `APH_*` values, and secrets only live in that site's processes).
 * 3. The job (a private copy: submission signs the folder in place) is submitted with the admin startup kit, followed
 *    until it finishes, and its result downloaded (FLARE API session, see `internal/session.ts`).
 * 4. Always, on success, failure, timeout or interruption: `nvflare poc stop`, then every process of the deployment
 *    still alive is stopped (SIGTERM, then SIGKILL), and the POC workspace is removed.
 *
 * Everything lives in a temporary folder: the POC workspace (`NVFLARE_POC_WORKSPACE`), the server's job store
 * (FLARE's default, `/tmp/nvflare`, is shared by every server on the machine, which would run each other's jobs) and a
 * private `HOME`, because `nvflare poc prepare` registers its startup kits in `~/.nvflare/config.conf`; the user's own
 * FLARE configuration is never touched.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as path from "node:path"
import {
  FlareCommandFailed,
  FlareRunner,
  InvalidRunRequest,
  type Runner,
  type RunnerContext,
  RunTimedOut
} from "./FlareRunner.js"
import * as fs from "./internal/files.js"
import * as flareLogs from "./internal/flareLogs.js"
import * as processes from "./internal/processes.js"
import { ADMIN, SERVER } from "./internal/project.js"
import * as project from "./internal/project.js"
import * as run from "./internal/run.js"
import * as session from "./internal/session.js"
import * as tail from "./internal/tail.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Where each run's POC workspace folder is made; default the system's temporary folder. */
  readonly workspaceRoot?: string
  /** Keep the POC workspace (startup kits, all logs) after the run instead of removing it. */
  readonly keepWorkspace?: boolean
  /** For `nvflare poc prepare`, each `nvflare poc start`, and for the sites to connect; default 2 minutes. */
  readonly startTimeout?: Duration.DurationInput
  /** For `nvflare poc stop`; default 1 minute. Processes still alive afterwards are killed. */
  readonly stopTimeout?: Duration.DurationInput
  /** Between SIGTERM and SIGKILL for leftover processes; default 5 seconds. */
  readonly grace?: Duration.DurationInput
}

const PROJECT = "fedkit_poc"

/** The `detail` (or `message`) of `nvflare --format json`'s error envelope. */
const envelopeError = (lines: ReadonlyArray<string>): string | undefined =>
  Option.getOrUndefined(
    Option.flatMap(processes.lastJsonLine(lines), (value) => {
      const envelope = value as { status?: unknown; detail?: unknown; message?: unknown }
      const text = envelope.detail ?? envelope.message
      return envelope.status === "error" && typeof text === "string" ? Option.some(text) : Option.none()
    })
  )

/**
 * @since 0.1.0
 * @category constructors
 */
/* eslint-disable max-lines-per-function -- the POC's steps share its scope, and their finalizers must run in reverse order */
export const make = (
  options: Options = {}
): Effect.Effect<
  Runner,
  never,
  RunnerContext
> => {
  const startTimeout = options.startTimeout ?? Duration.minutes(2)
  const stopTimeout = options.stopTimeout ?? Duration.minutes(1)
  const grace = options.grace ?? Duration.seconds(5)
  return run.runner({
    target: "poc",
    sites: { siteEnvironment: true, minSites: 1 },
    check: (request) =>
      request.threads === undefined
        ? Effect.void
        : Effect.fail(new InvalidRunRequest({ target: "poc", reason: "threads applies to the simulator only" })),
    run: ({ installation, log, output, request, timeout }) =>
      Effect.gen(function*() {
        const since = processes.nowTicks()
        const sites = request.sites.map((site) => site.name)
        const where = {
          prefix: "fedkit-poc-",
          ...(options.workspaceRoot === undefined ? {} : { directory: options.workspaceRoot })
        }
        if (options.workspaceRoot !== undefined) yield* fs.makeDirectory(options.workspaceRoot, { recursive: true })
        const root = options.keepWorkspace === true
          ? yield* fs.makeTempDirectory(where)
          : yield* fs.makeTempDirectoryScoped(where)
        if (options.keepWorkspace === true) yield* log("poc")(`POC workspace (kept): ${root}`)
        const workspace = path.join(root, "workspace")
        const home = path.join(root, "home")
        const projectFile = path.join(root, "project.yml")
        yield* fs.makeDirectory(home, { recursive: true })
        const { folder, pkg } = yield* run.stageJob(request.job, path.join(root, "job"))
        const port = yield* run.freeLoopbackPort.pipe(
          Effect.mapError((error) =>
            new FlareCommandFailed({ target: "poc", step: "find a free loopback port", flareError: error.message })
          )
        )
        yield* fs.writeFileString(
          projectFile,
          project.yaml({ name: PROJECT, description: "fedkit throw-away POC deployment", sites, port })
        )
        const prod = path.join(workspace, PROJECT, "prod_00")
        const baseEnv = run.flareEnvironment(installation, request.env, {
          HOME: home,
          NVFLARE_POC_WORKSPACE: workspace
        })
        const sessions: Array<processes.Root> = []
        const nvflare = (
          step: string,
          args: ReadonlyArray<string>,
          extra: {
            readonly env?: Readonly<Record<string, string>>
            readonly timeout: Duration.DurationInput
            readonly cleanup: "tree" | "daemons"
          }
        ) =>
          processes.run(
            { command: installation.nvflare, args: ["--format", "json", ...args], env: { ...baseEnv, ...extra.env } },
            { cleanup: extra.cleanup, grace, onLine: log("poc") }
          ).pipe(
            Effect.mapError((error) => new FlareCommandFailed({ target: "poc", step, flareError: error.message })),
            Effect.timeoutFail({
              duration: extra.timeout,
              onTimeout: () => new RunTimedOut({ target: "poc", step, timeout: run.timeoutText(extra.timeout) })
            }),
            Effect.flatMap((finished) => {
              if (extra.cleanup === "daemons") sessions.push(finished.root)
              if (finished.exitCode === 0) return Effect.succeed(finished)
              const flareError = envelopeError(finished.lines) ?? flareLogs.errorFromConsole(finished.lines)
              return Effect.fail(
                new FlareCommandFailed({
                  target: "poc",
                  step,
                  exitCode: finished.exitCode,
                  ...(flareError === undefined ? {} : { flareError })
                })
              )
            })
          )

        // Registered before anything starts, so it runs however the run ends.
        yield* Effect.addFinalizer(() =>
          nvflare("nvflare poc stop", ["poc", "stop", "--no-wait"], { timeout: stopTimeout, cleanup: "tree" }).pipe(
            Effect.catchAll((error) => log("poc")(`nvflare poc stop: ${error.message}`)),
            Effect.zipRight(processes.stopTrees(sessions, { grace, extra: processes.startedIn(root, since) }))
          )
        )

        yield* nvflare("nvflare poc prepare", ["poc", "prepare", "-i", projectFile, "--force"], {
          timeout: startTimeout,
          cleanup: "tree"
        })
        yield* project.isolateServer(path.join(prod, SERVER), path.join(root, "stores")).pipe(
          Effect.mapError((error) =>
            new FlareCommandFailed({
              target: "poc",
              step: "give the server its own job store",
              flareError: error.message
            })
          )
        )
        for (const participant of [SERVER, ...sites]) {
          yield* Effect.forkScoped(tail.follow(path.join(prod, participant, "poc_console.log"), log(participant)))
        }
        yield* nvflare(`nvflare poc start -p ${SERVER}`, ["poc", "start", "-p", SERVER, "--no-wait"], {
          timeout: startTimeout,
          cleanup: "daemons"
        })
        yield* Effect.forEach(request.sites, (site) =>
          nvflare(`nvflare poc start -p ${site.name}`, ["poc", "start", "-p", site.name, "--no-wait"], {
            env: run.siteEnvironment(site),
            timeout: startTimeout,
            cleanup: "daemons"
          }), { discard: true })

        // The deployment is removed after the run: each site's job logs are kept with the result, however it ends.
        const keepSiteLogs = (jobId: string, result: string) =>
          Effect.forEach(sites, (site) =>
            Effect.gen(function*() {
              const from = path.join(prod, site, jobId)
              const to = path.join(result, "sites", site)
              yield* fs.makeDirectory(to, { recursive: true })
              for (const file of ["log.txt", "log.json", "error_log.txt"]) {
                yield* fs.copyFile(path.join(from, file), path.join(to, file)).pipe(Effect.ignore)
              }
            }).pipe(Effect.ignore), { discard: true })
        const outcome = yield* session.submitAndFollow(installation, {
          username: ADMIN,
          startupKit: path.join(prod, ADMIN),
          jobFolder: folder,
          downloadDir: output,
          expectClients: sites,
          clientsTimeout: startTimeout,
          siteLogs: session.streamsSiteLogs(pkg)
        }, { target: "poc", job: pkg.name, timeout, env: baseEnv, log: log("session"), request }).pipe(
          Effect.tapError((error) =>
            error._tag === "SiteFailed" && error.jobId !== undefined
              ? keepSiteLogs(error.jobId, path.join(output, error.jobId))
              : Effect.void
          )
        )
        yield* keepSiteLogs(outcome.jobId, outcome.download)
        return yield* session.conclude(request, { target: "poc", job: pkg.name, outcome })
      }).pipe(
        Effect.catchTag("FileError", (error) =>
          Effect.fail(
            new FlareCommandFailed({ target: "poc", step: "prepare the POC workspace", flareError: error.message })
          ))
      )
  })
}
/* eslint-enable max-lines-per-function */

/**
 * A throw-away POC deployment as the `FlareRunner`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<
  FlareRunner,
  never,
  RunnerContext
> => Layer.effect(FlareRunner, make(options))
