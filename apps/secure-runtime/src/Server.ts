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
 * The route table and its handlers are in `internal/routes.ts`, the request, body and answer handling in
 * `internal/exchange.ts`, and draining in `Drain.ts`. Requests are handled by a plain `node:http` listener: at a thousand requests a second per core, building an
 * Effect request and response per request cost more than refusing a payload. Effect runs the server's start and
 * stop, and each render or job lookup (one fiber per request).
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as LogLevel from "effect/LogLevel"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { IncomingMessage, Server as NodeServer, ServerResponse } from "node:http"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as Drain from "./Drain.js"
import { makeExchange, makeResponder, refusal } from "./internal/exchange.js"
import * as LogLine from "./internal/logLine.js"
import { makeRouter } from "./internal/routes.js"
import type * as Jobs from "./Jobs.js"

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
  drain: Drain.Drain,
  runtime: Runtime.Runtime<never>
): (incoming: IncomingMessage, response: ServerResponse) => void => {
  const responder = makeResponder(LogLine.fromRuntime(runtime))
  const route = makeRouter({
    jobs,
    maxBodyBytes: options.maxBodyBytes,
    timeoutMs: Duration.toMillis(Duration.decode(options.requestTimeout ?? "30 seconds")),
    drain,
    responder,
    runCallback: Runtime.runCallback(runtime)
  })
  return (incoming, response) => {
    const exchange = makeExchange(incoming, response)
    responder.guard(exchange, () => {
      if (drain.draining()) {
        return responder.answer(
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
    const drain = Drain.makeDrain()
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
        yield* Effect.logInfo("shutting down").pipe(Effect.annotateLogs({ inFlight: drain.inFlight() }))
        yield* Drain.drained(drain, options.shutdownGrace ?? "30 seconds")
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
