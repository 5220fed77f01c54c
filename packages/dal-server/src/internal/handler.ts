/** One request, start to end: route it, answer errors as JSON, and log exactly one entry however it ends. */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import { randomUUID } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { DiskError, NotFound } from "./disk.js"
import type { Exchange, HandlerConfig, HttpError, RequestLogEntry } from "./exchange.js"
import { type BadRequest, parseTarget } from "./keys.js"
import { sendJson } from "./response.js"
import { route } from "./router.js"

export type { HandlerConfig, ListingConfig, RequestLogEntry } from "./exchange.js"

const errorResponse = (ex: Exchange, error: HttpError | BadRequest | NotFound | DiskError) =>
  Effect.gen(function*() {
    if (ex.res.headersSent) {
      ex.res.destroy()
      return
    }
    switch (error._tag) {
      case "HttpError":
        return yield* sendJson(ex, error.status, { error: error.reason }, error.headers)
      case "BadRequest":
        return yield* sendJson(ex, 400, { error: error.reason })
      case "NotFound":
        return yield* sendJson(ex, 404, { error: error.reason })
      case "DiskError":
        yield* Effect.logError("disk error").pipe(
          Effect.annotateLogs({ path: error.path, code: error.code ?? "", cause: String(error.cause) })
        )
        return yield* sendJson(ex, 500, { error: "internal error in the data folder (logged)" })
    }
  })

/** Every announced byte was handed to the connection and no fault cut it (the client may close first). */
const isComplete = (ex: Exchange): boolean =>
  ex.fault !== "ResetMidBody" && ex.fault !== "TruncateBody" &&
  (ex.res.writableFinished || (ex.announced !== undefined && ex.sent === ex.announced))

/** Handles one request; never fails. Logs exactly one entry when the exchange ends, however it ends. */
export const handle = (config: HandlerConfig, req: IncomingMessage, res: ServerResponse) => {
  const incomingId = req.headers["x-request-id"]
  const ex: Exchange = {
    id: typeof incomingId === "string" && /^[\w.-]{1,64}$/.test(incomingId) ? incomingId : randomUUID(),
    req,
    res,
    config,
    sent: 0
  }
  const started = performance.now()
  const log = Effect.suspend(() => {
    const cursor = parseTarget(req.url ?? "/").pipe(Either.map((t) => t.query.get("cursor")), Either.getOrNull)
    const entry: RequestLogEntry = {
      id: ex.id,
      time: new Date().toISOString(),
      method: req.method ?? "",
      path: (req.url ?? "").split("?")[0] ?? "",
      ...(ex.key === undefined ? {} : { key: ex.key }),
      status: res.statusCode,
      bytes: ex.received ?? ex.sent,
      durationMillis: Math.round((performance.now() - started) * 10) / 10,
      ...(req.headers.range === undefined ? {} : { range: req.headers.range }),
      ...(typeof req.headers["if-range"] === "string" ? { ifRange: req.headers["if-range"] } : {}),
      ...(cursor === null ? {} : { cursor }),
      ...(ex.grant === undefined ? {} : { grant: ex.grant }),
      ...(ex.fault === undefined ? {} : { fault: ex.fault }),
      outcome: isComplete(ex) ? "complete" : "aborted"
    }
    return config.record(entry).pipe(
      Effect.zipRight(Effect.logInfo("request").pipe(Effect.annotateLogs({ ...entry }))),
      Effect.ensuring(Effect.suspend(() => {
        if (ex.settled === undefined) return Effect.void
        config.settling.delete(ex.settled)
        return Deferred.done(ex.settled, Exit.void)
      }))
    )
  })
  const answer = config.latencyMillis > 0 ? Effect.zipRight(Effect.sleep(config.latencyMillis), route(ex)) : route(ex)
  return answer.pipe(
    Effect.catchTags({
      HttpError: (e) => errorResponse(ex, e),
      BadRequest: (e) => errorResponse(ex, e),
      NotFound: (e) => errorResponse(ex, e),
      DiskError: (e) => errorResponse(ex, e)
    }),
    Effect.catchTag("ResponseCut", () => Effect.sync(() => res.destroy())),
    Effect.ensuring(log)
  )
}
