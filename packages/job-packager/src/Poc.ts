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
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { FlareRunner, type Runner, type RunnerContext } from "./FlareRunner.js"
import * as internal from "./internal/poc.js"

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

/**
 * The POC runner: each run prepares, starts, uses and removes its own POC deployment (see the module's description).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<Runner, never, RunnerContext> = internal.make

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
