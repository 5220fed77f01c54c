/** The `simulator` target's run (see `Simulator.ts`). */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as path from "node:path"
import { FlareCommandFailed, type Runner, type RunnerContext, RunTimedOut } from "../FlareRunner.js"
import type { Options } from "../Simulator.js"
import * as fs from "./files.js"
import * as flareLogs from "./flareLogs.js"
import * as processes from "./processes.js"
import { SIMULATOR_LAUNCHER } from "./python.js"
import * as run from "./run.js"
import * as siteWatch from "./siteWatch.js"
import * as tail from "./tail.js"

/** FLARE's fixed job id and folder in a simulator workspace (`SimulatorConstants.JOB_NAME`). */
const SIMULATE_JOB = "simulate_job"

/* eslint-disable max-lines-per-function -- the simulation, its site watchers and the launcher's reports share one scope */
export const make = (options: Options = {}): Effect.Effect<Runner, never, RunnerContext> =>
  run.runner({
    target: "simulator",
    sites: { siteEnvironment: true, minSites: 1 },
    check: () => Effect.void,
    run: ({ installation, log, output: workspace, request, timeout }) =>
      Effect.gen(function*() {
        const privateDir = yield* run.privateFolder("simulator")
        const { folder, pkg } = yield* run.stageJob(request.job, path.join(privateDir, "job"))
        const launcher = path.join(privateDir, "launch_simulator.py")
        const envFile = path.join(privateDir, "site-env.json")
        const siteEnv = Object.fromEntries(request.sites.map((site) => [site.name, run.siteEnvironment(site)]))
        yield* Effect.all([
          fs.writeFileString(launcher, SIMULATOR_LAUNCHER, { mode: 0o600 }),
          fs.writeFileString(envFile, JSON.stringify(siteEnv), { mode: 0o600 })
        ]).pipe(Effect.mapError(run.prepareFailed("simulator")))
        const threads = request.threads ?? request.sites.length
        const command: processes.Spawn = {
          command: installation.python,
          args: [
            launcher,
            "simulator",
            folder,
            "-w",
            workspace,
            "-c",
            request.sites.map((site) => site.name).join(","),
            "-t",
            String(threads)
          ],
          cwd: privateDir,
          env: run.flareEnvironment(installation, request.env, { FEDKIT_SITE_ENV_FILE: envFile })
        }
        const since = processes.nowTicks()
        // The launcher reports each site it gave an environment to; checked below, so a FLARE release that starts
        // its workers differently cannot silently run sites without their variables.
        const provisioned = new Set<string>()
        const simulatorLog = log("simulator")
        // Each site's structured log, followed while the simulation runs: the first site failure stops it.
        const watch = yield* siteWatch.make
        for (const site of request.sites) {
          yield* Effect.forkScoped(
            tail.follow(path.join(workspace, site.name, "log.json"), (line) => watch.lines(site.name, [line]))
          )
        }
        const simulation = processes.run(command, {
          cleanup: "tree",
          onLine: (line) => {
            const site = /^\[fedkit\] site (\S+) starts with/.exec(line)?.[1]
            if (site !== undefined) provisioned.add(site)
            return simulatorLog(line)
          },
          ...(options.grace === undefined ? {} : { grace: options.grace }),
          extra: processes.startedIn(workspace, since)
        }).pipe(
          Effect.mapError((error) =>
            new FlareCommandFailed({
              target: "simulator",
              step: "start nvflare simulator",
              flareError: error.message
            })
          ),
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () =>
              new RunTimedOut({
                target: "simulator",
                step: "the simulation",
                timeout: run.timeoutText(timeout),
                workspace
              })
          })
        )
        const stopped = yield* Effect.raceFirst(
          Effect.map(simulation, (finished) => ({ finished })),
          Effect.map(watch.failed, (site) => ({ site }))
        )
        if ("site" in stopped) {
          const records = yield* flareLogs.readRecords(path.join(workspace, stopped.site, "log.json"))
          return yield* run.siteFailed(
            request,
            { target: "simulator", job: pkg.name, jobId: SIMULATE_JOB, workspace },
            stopped.site,
            flareLogs.siteFailure(records) ?? watch.reasonOf(stopped.site)
          )
        }
        const { finished } = stopped

        const participants = ["server", ...request.sites.map((site) => site.name)]
        const records = yield* Effect.forEach(participants, (name) =>
          Effect.map(
            flareLogs.readRecords(path.join(workspace, name, "log.json")),
            (list) => [name, list] as const
          ))
        yield* run.judge(
          request,
          { target: "simulator", job: pkg.name, jobId: SIMULATE_JOB, workspace },
          finished.exitCode === 0 ? undefined : `exit ${finished.exitCode}`,
          records,
          finished.lines
        )
        const missed = request.sites.filter((site) => !provisioned.has(site.name))
        if (missed.length > 0) {
          return yield* new FlareCommandFailed({
            target: "simulator",
            step: "give each site its environment",
            flareError: `FLARE started no client worker the launcher recognised for ${
              missed.map((site) => site.name).join(", ")
            }; this nvflare release starts simulator workers differently (checked against 2.9.0)`
          })
        }
        const logFile = (name: string) => path.join(workspace, name, "log.txt")
        return yield* run.completed({
          target: "simulator",
          job: pkg.name,
          jobId: SIMULATE_JOB,
          status: "FINISHED:COMPLETED",
          exitCode: Option.some(finished.exitCode),
          workspace,
          runDir: path.join(workspace, "server", SIMULATE_JOB),
          logs: {
            server: Option.some(logFile("server")),
            sites: Object.fromEntries(request.sites.map((site) => [site.name, logFile(site.name)]))
          }
        })
      })
  })
/* eslint-enable max-lines-per-function */
