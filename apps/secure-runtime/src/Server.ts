/**
 * The HTTP API of `secure-runtime serve`:
 *
 * - `POST /v1/jobs` with the payload as an `application/json` body: 201 `{ jobId, digest, files, status }`; 400
 *   malformed JSON; 413 too large; 415 another content type; 422 `{ errors: [{ path, message }] }`; 503 busy.
 * - `GET /v1/jobs/{id}`: the job's status (and FLARE's result once submitted and finished); 404 unknown.
 * - `GET /healthz`: 200 `{ status: "ok" }`, 503 while shutting down.
 *
 * Bodies are refused on their declared size and type before a byte is read; bodies without a declared size are
 * bounded while streaming. Every answer carries `x-request-id`, and one JSON log line per request records it.
 * Bad input never crashes the server: whatever escapes a handler is a 500 and a log line.
 *
 * @since 0.1.0
 */
import { HttpMiddleware, type HttpServerError, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeHttpServerRequest } from "@effect/platform-node"
import { Console, Duration, Effect, Option, type Scope } from "effect"
import { randomUUID } from "node:crypto"
import type { IncomingMessage, Server as NodeServer } from "node:http"
import { createServer } from "node:http"
import { excerpt } from "./internal/text.js"
import type * as Jobs from "./Jobs.js"
import { httpStatus, type Issue } from "./Refusal.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The largest body accepted: the runtime's own limit, so that HTTP and `parse` agree. */
  readonly maxBodyBytes: number
  /** How long reading a body and waiting for a render slot may take, in all (default 30 s). */
  readonly requestTimeout?: Duration.DurationInput
}

/**
 * Requests in flight, and whether the server is shutting down.
 *
 * @since 0.1.0
 * @category models
 */
export interface Drain {
  readonly inFlight: () => number
  readonly draining: () => boolean
  /** Refuse new requests from now on. */
  readonly start: () => void
  readonly enter: () => void
  readonly leave: () => void
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const makeDrain = (): Drain => {
  let inFlight = 0
  let draining = false
  return {
    inFlight: () => inFlight,
    draining: () => draining,
    start: () => {
      draining = true
    },
    enter: () => {
      inFlight++
    },
    leave: () => {
      inFlight--
    }
  }
}

/** What a refused body still sends is read and dropped up to this many bytes; beyond it the connection is closed. */
const DRAIN_CAP_BYTES = 8 * 1024 * 1024

const jsonResponse = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  HttpServerResponse.unsafeJson(body, { status, headers })

/** Every refusal has the same shape: `error` (one line) and `errors` (at least one `{ path, message }`). */
const refusal = (status: number, error: string, errors: ReadonlyArray<Issue> = [], headers?: Record<string, string>) =>
  jsonResponse(status, { error, errors: errors.length === 0 ? [{ path: "(root)", message: error }] : errors }, headers)

/** The facts a request's log line carries, filled in by the handlers. */
type Facts = Record<string, string | number>

const factsOf = new WeakMap<IncomingMessage, Facts>()

const note = (incoming: IncomingMessage, facts: Facts) => {
  const known = factsOf.get(incoming)
  if (known === undefined) factsOf.set(incoming, { ...facts })
  else Object.assign(known, facts)
}

/** Lets a refused body's remaining bytes be read and dropped, up to a cap and a deadline. */
const discardRest = (incoming: IncomingMessage, deadline: Duration.Duration) => {
  let seen = 0
  incoming.removeAllListeners("data")
  const timer = setTimeout(() => incoming.socket?.destroy(), Duration.toMillis(deadline))
  timer.unref()
  incoming.once("end", () => clearTimeout(timer))
  incoming.on("data", (chunk: Buffer) => {
    seen += chunk.length
    if (seen > DRAIN_CAP_BYTES) {
      clearTimeout(timer)
      incoming.socket?.destroy()
    }
  })
  incoming.resume()
}

/** Why a body was not read: too large (found while streaming), too slow, or the client went away. */
type ReadFailure =
  | { readonly _tag: "Overflow"; readonly bytes: number }
  | { readonly _tag: "TimedOut" }
  | { readonly _tag: "Broken" }

/**
 * Reads a body, stopping as soon as it is larger than `maxBytes` (memory stays bounded whatever is sent) or when
 * `deadlineMs` has passed. A plain timer rather than `Effect.timeout`: this runs for every request.
 */
const readBounded = (incoming: IncomingMessage, maxBytes: number, deadlineMs: number) =>
  Effect.async<Buffer, ReadFailure>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const cleanup = () => {
      clearTimeout(timer)
      incoming.off("data", onData)
      incoming.off("end", onEnd)
      incoming.off("error", onBroken)
      incoming.off("aborted", onBroken)
    }
    const fail = (failure: ReadFailure) => {
      cleanup()
      resume(Effect.fail(failure))
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) fail({ _tag: "Overflow", bytes: size })
      else chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resume(Effect.succeed(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
    }
    const onBroken = () => fail({ _tag: "Broken" })
    const timer = setTimeout(() => fail({ _tag: "TimedOut" }), deadlineMs)
    if (incoming.readableEnded) return onEnd()
    incoming.on("data", onData)
    incoming.once("end", onEnd)
    incoming.once("error", onBroken)
    incoming.once("aborted", onBroken)
    return Effect.sync(cleanup)
  })

/** `application/json`, optionally with `charset=utf-8`; anything else is 415. */
const isJson = (contentType: string | undefined): boolean => {
  if (contentType === undefined) return false
  const [type, ...params] = contentType.split(";").map((part) => part.trim().toLowerCase())
  if (type !== "application/json") return false
  return params.every((param) => !param.startsWith("charset=") || /^charset="?utf-8"?$/.test(param))
}

const tooLargeMessage = (maxBytes: number, bytes: number | undefined) =>
  bytes === undefined
    ? `Payload too large: at most ${maxBytes} bytes accepted. Send a smaller payload.`
    : `Payload too large: ${bytes} bytes sent, at most ${maxBytes} bytes accepted. Send a smaller payload.`

const createJob = (jobs: Jobs.Service, options: Options) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const incoming = NodeHttpServerRequest.toIncomingMessage(request)
    const timeout = Duration.decode(options.requestTimeout ?? "30 seconds")
    const started = Date.now()
    const declared = request.headers["content-length"]
    const length = declared === undefined ? undefined : Number(declared)
    // An unread body is dropped by Node before the next request on the connection; beyond the cap, close instead.
    const closeIfUnbounded = length === undefined || length > DRAIN_CAP_BYTES ? { connection: "close" } : undefined

    if (!isJson(request.headers["content-type"])) {
      note(incoming, { refused: "UnsupportedMediaType" })
      return refusal(
        415,
        "Unsupported content type: send the payload as application/json (UTF-8).",
        [],
        closeIfUnbounded
      )
    }
    if (length !== undefined && length > options.maxBodyBytes) {
      note(incoming, { refused: "PayloadTooLarge", declaredBytes: length })
      return refusal(413, tooLargeMessage(options.maxBodyBytes, length), [], closeIfUnbounded)
    }
    const body = yield* Effect.either(readBounded(incoming, options.maxBodyBytes, Duration.toMillis(timeout)))
    if (body._tag === "Left") {
      const failure = body.left
      if (failure._tag === "Broken") {
        note(incoming, { refused: "ClientAborted" })
        return refusal(400, "The request body was cut short.")
      }
      discardRest(incoming, timeout)
      if (failure._tag === "TimedOut") {
        note(incoming, { refused: "RequestTimeout" })
        return refusal(408, "The request body took too long to arrive.", [], { connection: "close" })
      }
      note(incoming, { refused: "PayloadTooLarge", receivedBytes: failure.bytes })
      return refusal(413, tooLargeMessage(options.maxBodyBytes, undefined))
    }
    note(incoming, { bodyBytes: body.right.length })
    const remaining = Duration.millis(Math.max(0, Duration.toMillis(timeout) - (Date.now() - started)))
    return yield* jobs.create(body.right, remaining).pipe(
      Effect.map((view) => {
        note(incoming, { jobId: view.jobId })
        return jsonResponse(201, view, { location: `/v1/jobs/${view.jobId}` })
      }),
      Effect.catchTags({
        PayloadRefused: (refused) => {
          const first = refused.issues[0]
          note(incoming, {
            refused: refused.kind,
            issues: refused.issues.length,
            ...(first === undefined ? {} : { firstPath: excerpt(first.path, 80) }),
            excerpt: excerpt(body.right.toString("utf8", 0, 256))
          })
          return Effect.succeed(refusal(httpStatus(refused), refused.message, refused.issues))
        },
        JobsBusy: (busy) => {
          note(incoming, { refused: "Busy" })
          return Effect.succeed(refusal(503, busy.message, [], { "retry-after": "1" }))
        },
        // The map was checked at start, so this is the server's fault, like a broken template.
        Dataset2GwRefused: (refused) => Effect.die(refused),
        TemplateBroken: (broken) =>
          Effect.logError("the runtime's template failed").pipe(
            Effect.annotateLogs({ reason: excerpt(broken.reason, 500), issues: broken.issues.length }),
            Effect.as(
              refusal(
                500,
                "The model's Secure Runtime failed to build the job; this is not a problem with the payload."
              )
            )
          ),
        JobStoreError: (error) =>
          Effect.logError("writing the job failed").pipe(
            Effect.annotateLogs({ reason: excerpt(error.message, 500) }),
            Effect.as(refusal(500, "The job could not be written; try again later."))
          )
      })
    )
  })

const getJob = (jobs: Jobs.Service) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const id = decodeURIComponent(request.url.split("?")[0]?.slice("/v1/jobs/".length) ?? "")
    const view = yield* jobs.get(id)
    return Option.match(view, {
      onNone: () => refusal(404, "No such job."),
      onSome: (found) => jsonResponse(200, found)
    })
  }).pipe(Effect.catchAllDefect(() => Effect.succeed(refusal(404, "No such job."))))

const route = (jobs: Jobs.Service, options: Options, drain: Drain) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const path = request.url.split("?")[0] ?? ""
    if (path === "/healthz") {
      return request.method === "GET"
        ? jsonResponse(200, { status: "ok", inFlight: drain.inFlight() })
        : refusal(405, "Use GET.", [], { allow: "GET" })
    }
    if (path === "/v1/jobs") {
      return request.method === "POST"
        ? yield* createJob(jobs, options)
        : refusal(405, "Use POST to create a job.", [], { allow: "POST" })
    }
    if (path.startsWith("/v1/jobs/") && path.indexOf("/", "/v1/jobs/".length) === -1) {
      return request.method === "GET" ? yield* getJob(jobs) : refusal(405, "Use GET.", [], { allow: "GET" })
    }
    return refusal(404, "No such route.")
  })

/**
 * The HTTP app. It never fails: every error becomes an answer, and every request one log line.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeApp = (
  jobs: Jobs.Service,
  options: Options,
  drain: Drain = makeDrain()
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const incoming = NodeHttpServerRequest.toIncomingMessage(request)
    const requestId = randomUUID()
    const started = performance.now()
    const response = drain.draining()
      ? refusal(503, "The server is shutting down; send the request again to another instance.", [], {
        connection: "close"
      })
      : yield* Effect.suspend(() => {
        drain.enter()
        // Counted until the answer is fully sent, so a shutdown never cuts one off.
        NodeHttpServerRequest.toServerResponse(request).once("close", drain.leave)
        return route(jobs, options, drain)
      }).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logError("request failed").pipe(
            Effect.annotateLogs({ requestId }),
            Effect.zipRight(Effect.logError(cause)),
            Effect.as(refusal(500, "Internal error; the request id identifies it in the server's log."))
          )
        )
      )
    const facts = factsOf.get(incoming) ?? {}
    yield* Effect.logInfo("request").pipe(
      Effect.annotateLogs({
        requestId,
        method: excerpt(request.method, 16),
        path: excerpt(request.url, 120),
        status: response.status,
        ms: Math.round((performance.now() - started) * 100) / 100,
        ...facts
      })
    )
    return HttpServerResponse.setHeader(response, "x-request-id", requestId)
  })

/**
 * @since 0.1.0
 * @category models
 */
export interface ServeOptions extends Options {
  readonly jobs: Jobs.Service
  readonly port: number
  readonly host: string
  /** How long a shutdown waits for requests in flight (default 30 s). */
  readonly shutdownGrace?: Duration.DurationInput
  /** Called once the server listens, with its URL (default: printed on standard output). */
  readonly onListening?: (url: string) => Effect.Effect<void>
}

/**
 * Serves until interrupted (SIGTERM, SIGINT). Shutting down stops taking requests (503), waits for those in flight
 * to be answered, then closes every connection.
 *
 * @since 0.1.0
 */
export const serve = (
  options: ServeOptions
): Effect.Effect<never, HttpServerError.ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const timeoutMs = Duration.toMillis(Duration.decode(options.requestTimeout ?? "30 seconds"))
    let nodeServer: NodeServer | undefined
    const server = yield* NodeHttpServer.make(() => {
      nodeServer = createServer({
        requestTimeout: timeoutMs + 5_000,
        headersTimeout: Math.min(10_000, timeoutMs + 5_000),
        keepAliveTimeout: 5_000
      })
      return nodeServer
    }, { port: options.port, host: options.host })
    const drain = makeDrain()
    // One span per request costs more than the rest of a refusal; the JSON log line carries what a trace would.
    yield* server.serve(makeApp(options.jobs, options, drain)).pipe(
      Effect.locally(HttpMiddleware.currentTracerDisabledWhen, () => true)
    )
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        drain.start()
        yield* Effect.logInfo("shutting down").pipe(Effect.annotateLogs({ inFlight: drain.inFlight() }))
        yield* Effect.sleep("10 millis").pipe(
          Effect.repeat({ until: () => drain.inFlight() <= 0 }),
          Effect.timeoutOption(options.shutdownGrace ?? "30 seconds")
        )
        nodeServer?.closeAllConnections()
        yield* Effect.logInfo("stopped").pipe(Effect.annotateLogs({ inFlight: drain.inFlight() }))
      })
    )
    const address = server.address
    const url = address._tag === "TcpAddress" ? `http://${hostForUrl(address.hostname)}:${address.port}` : address.path
    yield* options.onListening === undefined ? Console.log(url) : options.onListening(url)
    yield* Effect.logInfo("listening").pipe(Effect.annotateLogs({ url }))
    return yield* Effect.never
  })

const hostForUrl = (hostname: string) => hostname.includes(":") ? `[${hostname}]` : hostname
