/** A local production-like deployment (see `Deployment.ts`). */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as path from "node:path"
import type { Deployment, Options } from "../Deployment.js"
import * as FlareInstallation from "../FlareInstallation.js"
import { FlareCommandFailed, type InvalidRunRequest, type RunnerContext, RunTimedOut } from "../FlareRunner.js"
import * as fs from "./files.js"
import * as flareLogs from "./flareLogs.js"
import * as processes from "./processes.js"
import * as project from "./project.js"
import * as run from "./run.js"

const PROJECT = "fedkit_deployment"

/** Logs in with the admin kit and shuts every participant down; exit 0 once the server is down. */
const SHUTDOWN = `import json
import sys

from nvflare.fuel.flare_api import flare_api as api

spec = json.loads(sys.argv[1])
session = api.new_secure_session(spec["username"], spec["startup_kit"], timeout=spec["timeout"])
session.shutdown("all", timeout=spec["timeout"])
`

/* eslint-disable max-lines-per-function -- the finalizers these steps add run in reverse order, and that order is the design */
export const start = (
  options: Options
): Effect.Effect<Deployment, FlareCommandFailed | RunTimedOut | InvalidRunRequest, Scope.Scope | RunnerContext> =>
  Effect.gen(function*() {
    const installation = yield* FlareInstallation.FlareInstallation
    const request = { job: "", sites: options.sites, ...(options.env === undefined ? {} : { env: options.env }) }
    yield* run.checkRequest("remote", request, { siteEnvironment: true, minSites: 1 })
    const timeout = options.timeout ?? Duration.minutes(1)
    const grace = options.grace ?? Duration.seconds(5)
    const failed = (step: string) => (error: { readonly message: string }) =>
      new FlareCommandFailed({ target: "deployment", step, flareError: error.message })
    const timedOut = (step: string) => () =>
      new RunTimedOut({ target: "deployment", step, timeout: run.timeoutText(timeout) })
    const redact = flareLogs.redactor(run.secretsOf(request))
    const show = (source: string) => (text: string) =>
      options.onLog === undefined ? Effect.void : options.onLog(source, redact(text))

    const root = yield* fs.makeTempDirectoryScoped({
      prefix: "fedkit-deployment-",
      ...(options.directory === undefined ? {} : { directory: options.directory })
    }).pipe(Effect.mapError(failed("make the deployment folder")))
    const port = yield* run.freeLoopbackPort.pipe(Effect.mapError(failed("find a free loopback port")))
    const sites = options.sites.map((site) => site.name)
    const projectFile = path.join(root, "project.yml")
    yield* fs.makeDirectory(path.join(root, "home")).pipe(Effect.mapError(failed("make the deployment folder")))
    yield* fs.writeFileString(
      projectFile,
      project.yaml({ name: PROJECT, description: "fedkit local production-like deployment", sites, port })
    ).pipe(Effect.mapError(failed("write project.yml")))
    // A private HOME: FLARE's tools keep settings there, and the user's own are not this deployment's business.
    const baseEnv = run.flareEnvironment(installation, options.env, { HOME: path.join(root, "home") })

    const provision = yield* processes.run(
      {
        command: installation.nvflare,
        args: ["provision", "-p", projectFile, "-w", path.join(root, "ws"), "--force"],
        env: baseEnv,
        cwd: root
      },
      { cleanup: "tree", grace, onLine: show("provision") }
    ).pipe(
      Effect.mapError(failed("nvflare provision")),
      Effect.timeoutFail({ duration: timeout, onTimeout: timedOut("nvflare provision") })
    )
    const folder = path.join(root, "ws", PROJECT, "prod_00")
    if (provision.exitCode !== 0) {
      const flareError = flareLogs.errorFromConsole(provision.lines)
      return yield* new FlareCommandFailed({
        target: "deployment",
        step: "nvflare provision",
        exitCode: provision.exitCode,
        ...(flareError === undefined ? {} : { flareError })
      })
    }

    yield* project.isolateServer(path.join(folder, project.SERVER), path.join(root, "stores")).pipe(
      Effect.mapError(failed("give the server its own job store"))
    )

    const since = processes.nowTicks()
    // Each participant runs in the foreground of its own supervised process; the scope stops what is left of them.
    // Interruptible whatever the caller's region, or the scope could not stop them.
    const participant = (name: string, env: Readonly<Record<string, string>>) =>
      Effect.forkScoped(Effect.interruptible(
        processes.run(
          {
            command: "bash",
            args: [path.join(folder, name, "startup", "sub_start.sh"), "--once"],
            env: { ...baseEnv, ...env },
            cwd: path.join(folder, name)
          },
          { cleanup: "tree", grace, onLine: show(name === project.SERVER ? "server" : name) }
        )
      ))
    yield* participant(project.SERVER, {})
    for (const site of options.sites) yield* participant(site.name, run.siteEnvironment(site))
    // Added after the participants, so that it runs before their fibers are stopped: the shutdown through FLARE's API,
    // then a sweep of whatever was started in the deployment's folder.
    yield* Effect.addFinalizer(() =>
      processes.run(
        {
          command: installation.python,
          args: [
            "-c",
            SHUTDOWN,
            JSON.stringify({
              username: project.ADMIN,
              startup_kit: path.join(folder, project.ADMIN),
              timeout: Math.ceil(Duration.toSeconds(Duration.decode(timeout)))
            })
          ],
          env: baseEnv
        },
        { cleanup: "tree", grace, onLine: show("shutdown") }
      ).pipe(
        Effect.timeout(Duration.sum(Duration.decode(timeout), Duration.seconds(10))),
        Effect.catchAll((error) => show("shutdown")(`shutdown through FLARE's API failed: ${error.message}`)),
        Effect.zipRight(processes.stopTrees([], { grace, extra: processes.startedIn(root, since) }))
      )
    )
    return { folder, adminKit: path.join(folder, project.ADMIN), username: project.ADMIN, port, sites }
  })
/* eslint-enable max-lines-per-function */
