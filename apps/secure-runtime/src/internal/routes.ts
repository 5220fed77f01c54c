// The route table of `secure-runtime serve`, and its handlers: create a job (header checks; the body, once read, is
// checked, rendered and answered in the next turn of the event loop with the others read in this one), read a job,
// health.
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Runtime from "effect/Runtime"
import type { Drain } from "../Drain.js"
import type * as Jobs from "../Jobs.js"
import { httpStatus, type PayloadRefused } from "../Refusal.js"
import * as Batch from "./batch.js"
import {
  discardRest,
  DRAIN_CAP_BYTES,
  type Exchange,
  isJson,
  readBounded,
  refusal,
  type Reply,
  type Responder,
  tooLargeMessage
} from "./exchange.js"
import { excerpt } from "./text.js"

export interface Context {
  readonly jobs: Jobs.Service
  readonly maxBodyBytes: number
  readonly timeoutMs: number
  readonly drain: Drain
  readonly responder: Responder
  readonly runCallback: ReturnType<typeof Runtime.runCallback<never>>
}

type Handler = (exchange: Exchange, path: string) => void

/** How a `create` can fail. */
type CreateError = Effect.Effect.Error<ReturnType<Jobs.Service["create"]>>

/** A route: its path (exact, or a prefix ending in `/` for one more segment) and a handler per method. */
interface Route {
  readonly path: string
  readonly methods: Readonly<Record<string, Handler>>
  /** Said in the 405 answer and its `Allow` header. */
  readonly allow: string
}

// eslint-disable-next-line max-lines-per-function -- the route table and its handlers share the request context
export const makeRouter = (context: Context): (exchange: Exchange) => void => {
  const { drain, jobs, maxBodyBytes: maxBytes, responder, runCallback, timeoutMs } = context
  const { answer, failed, guard, log, logError } = responder
  const later = Batch.make()

  /**
   * Runs a request's effect in its own fiber and settles the request with its exit. A client that goes away
   * interrupts the fiber (a render still waiting for a slot stops waiting); the request is still logged.
   */
  const settleWith = <A, E>(
    exchange: Exchange,
    effect: Effect.Effect<A, E>,
    settle: (exit: Exit.Exit<A, E>) => void
  ) => {
    const cancel = runCallback(effect, {
      onExit: (exit) => {
        if (Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)) {
          // No one is left to answer; 499 (client closed request) as nginx logs it.
          exchange.facts["refused"] = "ClientAborted"
          return log(exchange, 499)
        }
        guard(exchange, () => settle(exit))
      }
    })
    exchange.response.once("close", () => {
      if (!exchange.response.writableEnded) cancel()
    })
  }

  const refusedPayload = (exchange: Exchange, body: Buffer, refused: PayloadRefused): Reply => {
    const first = refused.issues[0]
    Object.assign(exchange.facts, {
      refused: refused.kind,
      issues: refused.issues.length,
      ...(first === undefined ? {} : { firstPath: excerpt(first.path, 80) }),
      excerpt: excerpt(body.toString("utf8", 0, 256))
    })
    return refusal(httpStatus(refused), refused.message, refused.issues)
  }

  /** Answers a `create`, whether it ended at once (a plain `Exit`) or in a fiber. */
  const settleCreated = (exchange: Exchange, body: Buffer, exit: Exit.Exit<Jobs.JobView, CreateError>) => {
    if (Exit.isSuccess(exit)) {
      exchange.facts["jobId"] = exit.value.jobId
      return answer(exchange, { status: 201, body: exit.value, headers: { location: `/v1/jobs/${exit.value.jobId}` } })
    }
    const failure = Cause.failureOption(exit.cause)
    if (Option.isNone(failure)) return failed(exchange, exit.cause)
    const error = failure.value
    switch (error._tag) {
      case "PayloadRefused":
        return answer(exchange, refusedPayload(exchange, body, error))
      case "JobsBusy":
        exchange.facts["refused"] = "Busy"
        return answer(exchange, refusal(503, error.message, [], { "retry-after": "1" }))
      case "Dataset2GwRefused":
        // The map was checked at start, so this is the server's fault, like a broken template.
        return failed(exchange, Cause.die(error))
      case "TemplateBroken":
        logError(exchange, "the runtime's template failed", {
          reason: excerpt(error.reason, 500),
          issues: error.issues.length
        })
        return answer(
          exchange,
          refusal(500, "The model's Secure Runtime failed to build the job; this is not a problem with the payload.")
        )
      case "JobStoreError":
        logError(exchange, "writing the job failed", { reason: excerpt(error.message, 500) })
        return answer(exchange, refusal(500, "The job could not be written; try again later."))
    }
  }

  /** A body read in full: checked, rendered and written (or refused), and answered. */
  const create = (exchange: Exchange, body: Buffer) => {
    if (exchange.response.destroyed) {
      // Gone while the body waited for its turn: no job for no one.
      exchange.facts["refused"] = "ClientAborted"
      return log(exchange, 499)
    }
    const waitMs = Math.max(0, timeoutMs - (performance.now() - exchange.started))
    const created = jobs.create(body, waitMs)
    // A refusal, and a job rendered at once, are known here: answered without a fiber.
    if (Exit.isExit(created)) return settleCreated(exchange, body, created as Exit.Exit<Jobs.JobView, CreateError>)
    // Once a job is written, its answer and log line are made even if the client has gone (only the wait for a render
    // slot, made interruptible by `create`, stops when it goes).
    return settleWith(exchange, Effect.uninterruptible(created), (exit) => settleCreated(exchange, body, exit))
  }

  const createJob: Handler = (exchange) => {
    const { facts, incoming } = exchange
    const declared = incoming.headers["content-length"]
    const length = declared === undefined ? undefined : Number(declared)
    // An unread body is dropped by Node before the next request on the connection; beyond the cap, close instead.
    const closeIfUnbounded = length === undefined || length > DRAIN_CAP_BYTES ? { connection: "close" } : undefined

    if (!isJson(incoming.headers["content-type"])) {
      facts["refused"] = "UnsupportedMediaType"
      return answer(
        exchange,
        refusal(415, "Unsupported content type: send the payload as application/json (UTF-8).", [], closeIfUnbounded)
      )
    }
    if (length !== undefined && length > maxBytes) {
      Object.assign(facts, { refused: "PayloadTooLarge", declaredBytes: length })
      return answer(exchange, refusal(413, tooLargeMessage(maxBytes, length), [], closeIfUnbounded))
    }
    readBounded(incoming, maxBytes, timeoutMs, (read) =>
      guard(exchange, () => {
        switch (read._tag) {
          case "Broken": {
            // No one is left to answer: 499 (client closed request) as nginx logs it. At shutdown the server cut
            // the connection itself once the grace was over.
            if (drain.draining()) {
              facts["refused"] = "ShutdownGraceOver"
              return log(exchange, 503)
            }
            facts["refused"] = "ClientAborted"
            return log(exchange, 499)
          }
          case "TimedOut": {
            discardRest(incoming, timeoutMs)
            facts["refused"] = "RequestTimeout"
            return answer(
              exchange,
              refusal(408, "The request body took too long to arrive.", [], { connection: "close" })
            )
          }
          case "Overflow": {
            discardRest(incoming, timeoutMs)
            Object.assign(facts, { refused: "PayloadTooLarge", receivedBytes: read.bytes })
            return answer(exchange, refusal(413, tooLargeMessage(maxBytes, undefined)))
          }
          case "Body": {
            facts["bodyBytes"] = read.body.length
            return later(() => guard(exchange, () => create(exchange, read.body)))
          }
        }
      }))
  }

  const notFound = refusal(404, "No such job.")

  const getJob: Handler = (exchange, path) => {
    let id: string
    try {
      id = decodeURIComponent(path.slice("/v1/jobs/".length))
    } catch {
      return answer(exchange, notFound)
    }
    settleWith(
      exchange,
      jobs.get(id).pipe(
        Effect.map(Option.match({ onNone: () => notFound, onSome: (view): Reply => ({ status: 200, body: view }) })),
        Effect.catchAllDefect(() => Effect.succeed(notFound))
      ),
      (exit) => Exit.isSuccess(exit) ? answer(exchange, exit.value) : failed(exchange, exit.cause)
    )
  }

  const health: Handler = (exchange) =>
    // Node sends no body in answer to HEAD, and keeps the headers (content-length included).
    answer(exchange, { status: 200, body: { status: "ok", inFlight: drain.inFlight() } })

  const table: ReadonlyArray<Route> = [
    { path: "/healthz", methods: { GET: health, HEAD: health }, allow: "GET, HEAD" },
    { path: "/v1/jobs", methods: { POST: createJob }, allow: "POST" },
    { path: "/v1/jobs/", methods: { GET: getJob }, allow: "GET" }
  ]

  const matches = (route: Route, path: string) =>
    route.path.endsWith("/")
      ? path.startsWith(route.path) && path.indexOf("/", route.path.length) === -1
      : path === route.path

  return (exchange) => {
    const url = exchange.incoming.url ?? ""
    const query = url.indexOf("?")
    const path = query === -1 ? url : url.slice(0, query)
    const route = table.find((candidate) => matches(candidate, path))
    if (route === undefined) return answer(exchange, refusal(404, "No such route."))
    const handler = Object.hasOwn(route.methods, exchange.incoming.method ?? "")
      ? route.methods[exchange.incoming.method!]
      : undefined
    if (handler === undefined) {
      return answer(exchange, refusal(405, `Use ${route.allow.replace(", ", " or ")}.`, [], { allow: route.allow }))
    }
    handler(exchange, path)
  }
}
