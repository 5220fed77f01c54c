/** One HTTP exchange as the routes see it: the request, the response, what was sent, and the guards every route uses. */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Schema from "effect/Schema"
import type { IncomingMessage, ServerResponse } from "node:http"
import { type Authenticator, type Grant } from "./auth.js"
import type { FaultRequest, Faults } from "./faults.js"

/** One line of the request log (also what `requests` returns). Never holds a token or the Authorization header. */
export interface RequestLogEntry {
  readonly id: string
  readonly time: string
  readonly method: string
  /** The raw request path as received, without the query string. */
  readonly path: string
  /** The decoded key (`s3://…` for datasets/policies, `<name>/<file>` for derived-data uploads). */
  readonly key?: string
  readonly status: number
  /** Body bytes sent (GET) or received (PUT). */
  readonly bytes: number
  readonly durationMillis: number
  readonly range?: string
  readonly ifRange?: string
  readonly cursor?: string
  /** Name of the token grant that authorised the request (never the token). */
  readonly grant?: string
  /** Tag of the injected fault, when one fired. */
  readonly fault?: string
  /** `aborted` when the response did not complete (client went away, or a fault cut it). */
  readonly outcome: "complete" | "aborted"
}

export interface ListingConfig {
  readonly pageSize: number
  /** List folders too (`s3://b/dir/sub/`), as the platform tutorial shows; the official client cannot handle them. */
  readonly folderEntries: boolean
  /** `suffix`: the bare `<key>?cursor=…` the official client appends to `datasets/`; `rfc8288`: `<URL>; rel="next"`. */
  readonly pageLinks: "suffix" | "rfc8288"
  /** Base URL (trailing slash) of `rfc8288` links: configured, never taken from a request's `Host` header. */
  readonly publicUrl: () => string
}

export interface HandlerConfig {
  readonly rootReal: string
  /** Absolute, not necessarily existing yet: created on the first upload. */
  readonly derivedDir: string
  readonly listing: ListingConfig
  readonly latencyMillis: number
  /** File downloads and uploads in progress, and how many may be. */
  readonly transfers: { active: number; readonly max: number }
  readonly maxUploadBytes: number
  readonly auth: Authenticator | undefined
  readonly policies: ReadonlyMap<string, unknown>
  readonly faults: Faults
  readonly record: (entry: RequestLogEntry) => Effect.Effect<void>
  /**
   * Exchanges whose last byte (or cut) is on its way; done once their entry is recorded. `requests` waits for
   * these, so a client that has seen a whole response always finds its entry.
   */
  readonly settling: Set<Deferred.Deferred<void>>
}

export class HttpError extends Schema.TaggedError<HttpError>()("HttpError", {
  status: Schema.Number,
  reason: Schema.String,
  headers: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
}) {}

/** The response was cut on purpose (fault) or by the client; nothing more can be sent. */
export class ResponseCut extends Schema.TaggedError<ResponseCut>()("ResponseCut", { reason: Schema.String }) {}

export interface Exchange {
  readonly id: string
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly config: HandlerConfig
  /** Response body bytes handed to the connection. */
  sent: number
  /** Upload bytes stored (PUT). */
  received?: number
  key?: string
  grant?: string
  fault?: string
  /** Body length announced in Content-Length, once headers are sent. */
  announced?: number
  settled?: Deferred.Deferred<void>
}

/** Marks the exchange as about to be seen complete by the client; synchronous so stream callbacks can use it. */
export const settleNow = (ex: Exchange): void => {
  if (ex.settled !== undefined) return
  ex.settled = Deferred.unsafeMake<void>(FiberId.none)
  ex.config.settling.add(ex.settled)
}

export const markSettling = (ex: Exchange) => Effect.sync(() => settleNow(ex))

export const jsonHeaders = { "content-type": "application/json; charset=utf-8" }

export const requireGrant = (ex: Exchange): Effect.Effect<Grant | undefined, HttpError> => {
  const auth = ex.config.auth
  if (auth === undefined) return Effect.succeed(undefined)
  const header = ex.req.headers.authorization
  const grant = auth.authenticate(header)
  if (grant === undefined) {
    return Effect.fail(
      new HttpError({
        status: 401,
        reason: header === undefined ? "missing bearer token" : "invalid bearer token",
        headers: {
          "www-authenticate": header === undefined
            ? "Bearer realm=\"dal\""
            : "Bearer realm=\"dal\", error=\"invalid_token\""
        }
      })
    )
  }
  ex.grant = grant.name
  return Effect.succeed(grant)
}

export const headerFault = (ex: Exchange, request: FaultRequest) =>
  Effect.gen(function*() {
    const fault = yield* ex.config.faults.headerFault(request)
    if (fault === undefined) return
    ex.fault = fault._tag
    if (fault._tag === "StallHeaders") return yield* Effect.sleep(fault.millis)
    return yield* new HttpError({
      status: fault.status,
      reason: `injected fault: status ${fault.status}`,
      ...(fault.retryAfter === undefined ? {} : { headers: { "retry-after": fault.retryAfter } })
    })
  })

/**
 * Runs `transfer` holding one of the transfer slots, or answers 503 when all are taken: each slot may hold read
 * buffers and a socket's worth of unsent bytes, so the cap bounds what a flood of slow clients can make us hold.
 */
export const withTransferSlot = <A, E>(ex: Exchange, transfer: Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.suspend(() => {
      const { transfers } = ex.config
      if (transfers.active >= transfers.max) {
        return Effect.fail(
          new HttpError({
            status: 503,
            reason: `the server is busy with ${transfers.max} file transfers (--max-transfers); retry shortly`,
            headers: { "retry-after": "1" }
          })
        )
      }
      transfers.active += 1
      return Effect.void
    }),
    () => transfer,
    () => Effect.sync(() => ex.config.transfers.active -= 1)
  )
