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
 * Requests are handled by a plain `node:http` listener: at a thousand requests a second per core, building an
 * Effect request and response per request cost more than refusing a payload. Effect runs the server's start and
 * stop, and each render or job lookup (one fiber per request).
 *
 * @since 0.1.0
 */
import { Cause, Console, Duration, Effect, Exit, LogLevel, Option, Runtime, Schema, type Scope } from "effect"
import { randomUUID } from "node:crypto"
import type { IncomingMessage, Server as NodeServer, ServerResponse } from "node:http"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as LogLine from "./internal/logLine.js"
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

/**
 * The server could not listen on its address (in use, not permitted, unknown host).
 *
 * @since 0.1.0
 * @category errors
 */
export class ListenError extends Schema.TaggedError<ListenError>()("ListenError", {
  host: Schema.String,
  port: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `Cannot listen on ${this.host}:${this.port}: ${this.reason}. Choose another --port or --host.`
  }
}

/** What a refused body still sends is read and dropped up to this many bytes; beyond it the connection is closed. */
const DRAIN_CAP_BYTES = 8 * 1024 * 1024

/** The facts a request's log line carries, filled in by the handlers. */
type Facts = Record<string, string | number>

/** An answer: always JSON. */
interface Reply {
  readonly status: number
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/** Every refusal has the same shape: `error` (one line) and `errors` (at least one `{ path, message }`). */
const refusal = (
  status: number,
  error: string,
  errors: ReadonlyArray<Issue> = [],
  headers?: Readonly<Record<string, string>>
): Reply => ({
  status,
  body: { error, errors: errors.length === 0 ? [{ path: "(root)", message: error }] : errors },
  headers
})

/** One request being answered. */
interface Exchange {
  readonly incoming: IncomingMessage
  readonly response: ServerResponse
  readonly requestId: string
  readonly started: number
  readonly facts: Facts
}

/** Lets a refused body's remaining bytes be read and dropped, up to a cap and a deadline. */
const discardRest = (incoming: IncomingMessage, deadlineMs: number) => {
  let seen = 0
  incoming.removeAllListeners("data")
  const timer = setTimeout(() => incoming.socket?.destroy(), deadlineMs)
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

/** A body, or why it was not read: too large (found while streaming), too slow, or the client went away. */
type ReadResult =
  | { readonly _tag: "Body"; readonly body: Buffer }
  | { readonly _tag: "Overflow"; readonly bytes: number }
  | { readonly _tag: "TimedOut" }
  | { readonly _tag: "Broken" }

/**
 * Reads a body, stopping as soon as it is larger than `maxBytes` (memory stays bounded whatever is sent) or when
 * `deadlineMs` has passed; `done` is called once.
 */
const readBounded = (
  incoming: IncomingMessage,
  maxBytes: number,
  deadlineMs: number,
  done: (result: ReadResult) => void
) => {
  const chunks: Array<Buffer> = []
  let size = 0
  const finish = (result: ReadResult) => {
    clearTimeout(timer)
    incoming.off("data", onData)
    incoming.off("end", onEnd)
    incoming.off("error", onBroken)
    incoming.off("aborted", onBroken)
    done(result)
  }
  const onData = (chunk: Buffer) => {
    size += chunk.length
    if (size > maxBytes) finish({ _tag: "Overflow", bytes: size })
    else chunks.push(chunk)
  }
  const onEnd = () => finish({ _tag: "Body", body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) })
  const onBroken = () => finish({ _tag: "Broken" })
  const timer = setTimeout(() => finish({ _tag: "TimedOut" }), deadlineMs)
  if (incoming.readableEnded) return onEnd()
  incoming.on("data", onData)
  incoming.once("end", onEnd)
  incoming.once("error", onBroken)
  incoming.once("aborted", onBroken)
}

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

const INTERNAL_ERROR = "Internal error; the request id identifies it in the server's log."

/**
 * A client's `x-request-id` is echoed (and logged) when it is 1 to 200 characters of letters, digits and
 * `- _ . : + / = @`, which covers UUIDs, hex, base64 and the usual prefixed ids; anything else is replaced.
 */
const WELL_FORMED_REQUEST_ID = /^[A-Za-z0-9._:+/=@-]{1,200}$/

const requestIdOf = (incoming: IncomingMessage): string => {
  const given = incoming.headers["x-request-id"]
  return typeof given === "string" && WELL_FORMED_REQUEST_ID.test(given) ? given : randomUUID()
}

/** On every answer: JSON is never sniffed as something else, and no cache keeps a job or a refusal. */
const SAFETY_HEADERS = { "x-content-type-options": "nosniff", "cache-control": "no-store" } as const

/**
 * The request listener. It never throws: every error becomes an answer, and every request one log line, logged
 * through `runtime`'s logger.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeHandler = (
  jobs: Jobs.Service,
  options: Options,
  drain: Drain,
  runtime: Runtime.Runtime<never>
): (incoming: IncomingMessage, response: ServerResponse) => void => {
  const logLine = LogLine.fromRuntime(runtime)
  const runCallback = Runtime.runCallback(runtime)
  const timeoutMs = Duration.toMillis(Duration.decode(options.requestTimeout ?? "30 seconds"))

  const log = (exchange: Exchange, status: number) =>
    logLine(LogLevel.Info, "request", {
      requestId: exchange.requestId,
      method: excerpt(exchange.incoming.method ?? "", 16),
      path: excerpt(exchange.incoming.url ?? "", 120),
      status,
      ms: Math.round((performance.now() - exchange.started) * 100) / 100,
      ...exchange.facts
    })

  const answer = (exchange: Exchange, reply: Reply) => {
    const { response } = exchange
    if (!response.headersSent && !response.destroyed) {
      const text = JSON.stringify(reply.body)
      response.writeHead(reply.status, {
        ...reply.headers,
        ...SAFETY_HEADERS,
        "content-type": "application/json",
        "content-length": Buffer.byteLength(text),
        "x-request-id": exchange.requestId
      })
      response.end(text)
    }
    log(exchange, reply.status)
  }

  const failed = (exchange: Exchange, cause: Cause.Cause<unknown>) => {
    logLine(LogLevel.Error, "request failed", { requestId: exchange.requestId }, cause)
    answer(exchange, refusal(500, INTERNAL_ERROR))
  }

  /** Whatever a handler throws is a 500 and a log line, never an exception at the process. */
  const guard = (exchange: Exchange, handle: () => void) => {
    try {
      handle()
    } catch (error) {
      failed(exchange, Cause.die(error))
    }
  }

  /**
   * Runs a request's effect in its own fiber and answers with its result. A client that goes away interrupts the
   * fiber (a render still waiting for a slot stops waiting); the request is still logged.
   */
  const answerWith = (exchange: Exchange, effect: Effect.Effect<Reply>) => {
    const cancel = runCallback(effect, {
      onExit: (exit) => {
        if (Exit.isSuccess(exit)) return guard(exchange, () => answer(exchange, exit.value))
        if (Cause.isInterruptedOnly(exit.cause)) {
          // No one is left to answer; 499 (client closed request) as nginx logs it.
          exchange.facts["refused"] = "ClientAborted"
          return log(exchange, 499)
        }
        failed(exchange, exit.cause)
      }
    })
    exchange.response.once("close", () => {
      if (!exchange.response.writableEnded) cancel()
    })
  }

  const rendered = (exchange: Exchange, body: Buffer, waitMs: number): Effect.Effect<Reply> =>
    jobs.create(body, waitMs).pipe(
      Effect.map((view): Reply => {
        exchange.facts["jobId"] = view.jobId
        return { status: 201, body: view, headers: { location: `/v1/jobs/${view.jobId}` } }
      }),
      Effect.catchTags({
        PayloadRefused: (refused) => {
          const first = refused.issues[0]
          Object.assign(exchange.facts, {
            refused: refused.kind,
            issues: refused.issues.length,
            ...(first === undefined ? {} : { firstPath: excerpt(first.path, 80) }),
            excerpt: excerpt(body.toString("utf8", 0, 256))
          })
          return Effect.succeed(refusal(httpStatus(refused), refused.message, refused.issues))
        },
        JobsBusy: (busy) => {
          exchange.facts["refused"] = "Busy"
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
      }),
      // Once a job is written, its answer and log line are made even if the client has gone (only the wait for a
      // render slot, made interruptible by `create`, stops when it goes).
      Effect.uninterruptible
    )

  const createJob = (exchange: Exchange) => {
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
    if (length !== undefined && length > options.maxBodyBytes) {
      Object.assign(facts, { refused: "PayloadTooLarge", declaredBytes: length })
      return answer(exchange, refusal(413, tooLargeMessage(options.maxBodyBytes, length), [], closeIfUnbounded))
    }
    readBounded(incoming, options.maxBodyBytes, timeoutMs, (read) =>
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
            return answer(exchange, refusal(413, tooLargeMessage(options.maxBodyBytes, undefined)))
          }
          case "Body": {
            facts["bodyBytes"] = read.body.length
            const waitMs = Math.max(0, timeoutMs - (performance.now() - exchange.started))
            return answerWith(exchange, rendered(exchange, read.body, waitMs))
          }
        }
      }))
  }

  const notFound = refusal(404, "No such job.")

  const getJob = (exchange: Exchange, path: string) => {
    let id: string
    try {
      id = decodeURIComponent(path.slice("/v1/jobs/".length))
    } catch {
      return answer(exchange, notFound)
    }
    answerWith(
      exchange,
      jobs.get(id).pipe(
        Effect.map(Option.match({ onNone: () => notFound, onSome: (view): Reply => ({ status: 200, body: view }) })),
        Effect.catchAllDefect(() => Effect.succeed(notFound))
      )
    )
  }

  const route = (exchange: Exchange) => {
    const url = exchange.incoming.url ?? ""
    const query = url.indexOf("?")
    const path = query === -1 ? url : url.slice(0, query)
    const method = exchange.incoming.method
    if (path === "/healthz") {
      // Node sends no body in answer to HEAD, and keeps the headers (content-length included).
      return answer(
        exchange,
        method === "GET" || method === "HEAD"
          ? { status: 200, body: { status: "ok", inFlight: drain.inFlight() } }
          : refusal(405, "Use GET or HEAD.", [], { allow: "GET, HEAD" })
      )
    }
    if (path === "/v1/jobs") {
      return method === "POST"
        ? createJob(exchange)
        : answer(exchange, refusal(405, "Use POST to create a job.", [], { allow: "POST" }))
    }
    if (path.startsWith("/v1/jobs/") && path.indexOf("/", "/v1/jobs/".length) === -1) {
      return method === "GET"
        ? getJob(exchange, path)
        : answer(exchange, refusal(405, "Use GET.", [], { allow: "GET" }))
    }
    answer(exchange, refusal(404, "No such route."))
  }

  return (incoming, response) => {
    const exchange: Exchange = {
      incoming,
      response,
      requestId: requestIdOf(incoming),
      started: performance.now(),
      facts: {}
    }
    guard(exchange, () => {
      if (drain.draining()) {
        return answer(
          exchange,
          refusal(503, "The server is shutting down; send the request again to another instance.", [], {
            connection: "close"
          })
        )
      }
      drain.enter()
      // Counted until the answer is fully sent, so a shutdown never cuts one off.
      response.once("close", drain.leave)
      route(exchange)
    })
  }
}

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

const describe = (error: unknown) => error instanceof Error ? error.message : String(error)

/**
 * Serves until interrupted (SIGTERM, SIGINT). Shutting down stops taking requests (503), waits for those in flight
 * to be answered, then closes every connection.
 *
 * @since 0.1.0
 */
export const serve = (options: ServeOptions): Effect.Effect<never, ListenError, Scope.Scope> =>
  Effect.gen(function*() {
    const timeoutMs = Duration.toMillis(Duration.decode(options.requestTimeout ?? "30 seconds"))
    const drain = makeDrain()
    const handler = makeHandler(options.jobs, options, drain, yield* Effect.runtime<never>())
    const server = yield* Effect.acquireRelease(
      Effect.sync(() =>
        createServer({
          requestTimeout: timeoutMs + 5_000,
          headersTimeout: Math.min(10_000, timeoutMs + 5_000),
          keepAliveTimeout: 5_000
        }, handler)
      ),
      (server) =>
        Effect.async<void>((resume) => {
          if (!server.listening) return resume(Effect.void)
          server.close(() => resume(Effect.void))
        })
    )
    yield* listen(server, options.host, options.port)
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        drain.start()
        yield* Effect.logInfo("shutting down").pipe(Effect.annotateLogs({ inFlight: drain.inFlight() }))
        // A deadline rather than a timeout: finalizers are uninterruptible, so a timeout could not stop the wait.
        const deadline = performance.now() + Duration.toMillis(Duration.decode(options.shutdownGrace ?? "30 seconds"))
        yield* Effect.sleep("10 millis").pipe(
          Effect.repeat({ until: () => drain.inFlight() <= 0 || performance.now() >= deadline })
        )
        server.closeAllConnections()
        yield* Effect.logInfo("stopped").pipe(Effect.annotateLogs({ inFlight: drain.inFlight() }))
      })
    )
    const address = server.address() as AddressInfo
    const hostname = address.address === "::" ? "0.0.0.0" : address.address
    const url = `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${address.port}`
    yield* options.onListening === undefined ? Console.log(url) : options.onListening(url)
    yield* Effect.logInfo("listening").pipe(Effect.annotateLogs({ url }))
    return yield* Effect.never
  })

/** Listens; from then on a server error (a failed accept) is logged, never thrown at the process. */
const listen = (server: NodeServer, host: string, port: number) =>
  Effect.flatMap(Effect.runtime<never>(), (runtime) =>
    Effect.async<void, ListenError>((resume) => {
      const onError = (error: unknown) => resume(Effect.fail(new ListenError({ host, port, reason: describe(error) })))
      server.once("error", onError)
      server.listen(port, host, () => {
        server.off("error", onError)
        const logLine = LogLine.fromRuntime(runtime)
        server.on("error", (error) => logLine(LogLevel.Error, "server error", {}, Cause.die(error)))
        resume(Effect.void)
      })
    }))
