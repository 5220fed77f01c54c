/**
 * A local production-like FLARE deployment, for tests and trials of the `remote` target: provisioned with
 * `nvflare provision` (one server, one client per site, a project admin; startup kits with certificates and
 * signatures, as a real federation gets them), every participant started from its own startup kit
 * (`startup/sub_start.sh --once`) with that site's own environment, and shut down through FLARE's API
 * (`Session.shutdown("all")`) when its scope closes, after which nothing it started is left running.
 *
 * Everything lives on loopback: the server is named `localhost` (FLARE binds 127.0.0.1 only) on a free port. And
 * everything lives in the deployment's folder, the server's job store included: FLARE's default (`/tmp/nvflare`) is
 * shared by every server on the machine, and a server runs every submitted job it finds in its store.
 *
 * ```ts
 * const deployment = yield* Deployment.start({ sites: [{ name: "gw-1", env: {...}, secrets: {...} }] })
 * yield* FlareRunner.run({ job, sites: [{ name: "gw-1" }] }).pipe(
 *   Effect.provide(Remote.layer({ startupKit: deployment.adminKit, username: deployment.username }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { FlareCommandFailed, InvalidRunRequest, RunnerContext, RunTimedOut, Site } from "./FlareRunner.js"
import * as internal from "./internal/deployment.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The sites (gateways), each with the environment its processes get. */
  readonly sites: ReadonlyArray<Site>
  /** Variables for every participant (sites' own win). */
  readonly env?: Readonly<Record<string, string>>
  /** Where the deployment's folder is made; default the system's temporary folder. Removed with the scope. */
  readonly directory?: string
  /** Called with each participant's console lines (source: `server` or the site), secrets redacted. */
  readonly onLog?: (source: string, text: string) => Effect.Effect<void>
  /** For provisioning and for the shutdown; default 1 minute each. */
  readonly timeout?: Duration.DurationInput
  /** Between SIGTERM and SIGKILL for what the shutdown left running; default 5 seconds. */
  readonly grace?: Duration.DurationInput
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Deployment {
  /** The provisioned project (`prod_00`), holding every participant's startup kit and workspace. */
  readonly folder: string
  /** The admin's startup kit, for `Remote.layer`. */
  readonly adminKit: string
  /** The admin user the kit was provisioned for. */
  readonly username: string
  /** The server's loopback port. */
  readonly port: number
  readonly sites: ReadonlyArray<string>
}

/**
 * Provisions and starts the deployment; it is shut down when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start: (
  options: Options
) => Effect.Effect<Deployment, FlareCommandFailed | RunTimedOut | InvalidRunRequest, Scope.Scope | RunnerContext> =
  internal.start
