/** The `poc` target's run (see `Poc.ts`). */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as path from "node:path"
import { FlareCommandFailed, InvalidRunRequest, type Runner, type RunnerContext, RunTimedOut } from "../FlareRunner.js"
import type { Options } from "../Poc.js"
import * as fs from "./files.js"
import * as flareLogs from "./flareLogs.js"
import * as processes from "./processes.js"
import { ADMIN, SERVER } from "./project.js"
import * as project from "./project.js"
import * as run from "./run.js"
import * as session from "./session.js"
import * as tail from "./tail.js"

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

/* eslint-disable max-lines-per-function -- the POC's steps share its scope, and their finalizers must run in reverse order */
export const make = (options: Options = {}): Effect.Effect<Runner, never, RunnerContext> => {
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
