/**
 * The wire to the DAL: one HTTP exchange at a time over keep-alive connection pools, response bodies handed out as
 * pushed bytes with backpressure. Built on `node:http`/`node:https`, whose parser (llhttp) refuses malformed framing;
 * on top of it this service refuses what it cannot pass on faithfully (see {@link refusal}). Retry policy, error
 * classification and token scrubbing are not its business: failures carry the raw facts (`TransportFailure`).
 *
 * Timeouts: the wait for the response head is bounded as a whole once the request is sent (a server dripping header
 * bytes cannot stretch it), every silence in the exchange by the same duration (the socket's idle timer, re-armed
 * instead of firing while the consumer holds the body back), and optionally a body's average rate.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as NodeHttp from "node:http"
import type * as NodeHttps from "node:https"
import type { Readable } from "node:stream"
import * as ReadBufferAgent from "./internal/readBufferAgent.js"

/**
 * The keep-alive connection pools the transport sends through: a `node:http` and a `node:https` Agent (bring your
 * own to set TLS options such as a custom CA, or socket limits).
 *
 * @since 0.1.0
 */
export class ConnectionPool extends Context.Tag("@fedkit/dal-client/ConnectionPool")<
  ConnectionPool,
  { readonly http: NodeHttp.Agent; readonly https: NodeHttps.Agent }
>() {}

/**
 * Fresh keep-alive pools, closed when the layer is released.
 *
 * @since 0.1.0
 */
export const layerConnectionPool: Layer.Layer<ConnectionPool> = Layer.scoped(
  ConnectionPool,
  Effect.acquireRelease(
    Effect.sync(() => {
      let https: NodeHttps.Agent | undefined
      return {
        http: ReadBufferAgent.make({ keepAlive: true, scheduling: "lifo" }),
        // made on first use: loading TLS costs a plain-HTTP run (a local DAL) several milliseconds of start-up
        get https() {
          return https ??= new (nodeHttps().Agent)({ keepAlive: true, scheduling: "lifo" })
        },
        destroyHttps: () => https?.destroy()
      }
    }),
    (agents) =>
      Effect.sync(() => {
        agents.http.destroy()
        agents.destroyHttps()
      })
  )
)

const nodeHttps = (): typeof NodeHttps => process.getBuiltinModule("node:https")

/**
 * @since 0.1.0
 */
export interface Request {
  readonly method: "GET" | "HEAD" | "PUT"
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  /** A request body: a fresh source per call of `open`, and its length. */
  readonly body?: { readonly open: () => Readable | Uint8Array; readonly length: number } | undefined
  /** Bounds the wait for the response head (as a whole) and every silence during the exchange. */
  readonly timeout: Duration.Duration
  /** When set, a body slower than this many bytes per second over a `timeout`-long window is cut. */
  readonly minBytesPerSecond?: number | undefined
}

/**
 * Why an exchange failed. `refused`: the response was well-formed HTTP that the transport will not pass on (see
 * {@link refusal}); `request`: the request itself could not be sent (invalid URL or header); `invalid`: not valid
 * HTTP; `cut`: the connection ended before the response did; `connect`, `timeout`, `slow`: as named.
 * `reason` may quote what the server sent: scrub it before showing it.
 *
 * @since 0.1.0
 */
export class TransportFailure extends Schema.TaggedError<TransportFailure>()("TransportFailure", {
  kind: Schema.Literal("connect", "request", "timeout", "slow", "cut", "invalid", "refused"),
  reason: Schema.String
}) {}

/**
 * Receives a body's bytes once attached.
 *
 * @since 0.1.0
 */
export interface Consumer {
  /** The next bytes (the consumer may keep them). Answer false to pause the body until `resume`. */
  readonly onData: (chunk: Uint8Array) => boolean
  /** The body ended: whole (`undefined`) or not. Called exactly once. */
  readonly onEnd: (failure: TransportFailure | undefined) => void
}

/**
 * A response body that pushes bytes to one consumer, with backpressure.
 *
 * @since 0.1.0
 */
export interface Body {
  readonly attach: (consumer: Consumer) => void
  readonly resume: () => void
  /** Abandons the body (its connection is closed unless the body already ended whole). */
  readonly destroy: () => void
}

/**
 * @since 0.1.0
 */
export interface Response {
  readonly status: number
  /** Lower-case names; repeated headers joined by ", ". */
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: Body
}

/**
 * @since 0.1.0
 */
export interface DalTransportService {
  /** Sends one request and answers its response once the head is in; the body is abandoned when the scope closes. */
  readonly request: (request: Request) => Effect.Effect<Response, TransportFailure, Scope.Scope>
  /**
   * The same exchange as `request`, with callbacks instead of an Effect, for a caller that runs thousands a second
   * inside one `Effect.async` of its own: `onHead` is called once (never synchronously) with the response or the
   * failure. The function answered abandons the exchange while no response has arrived; after that, the response's
   * body is the caller's to finish or destroy.
   */
  readonly dispatch: (request: Request, onHead: (outcome: Response | TransportFailure) => void) => () => void
}

/**
 * A transport service from its `dispatch`: `request` is the same exchange as a scoped Effect.
 *
 * @since 0.1.0
 */
export const fromDispatch = (dispatch: DalTransportService["dispatch"]): DalTransportService => ({
  dispatch,
  request: (request) =>
    Effect.acquireRelease(
      Effect.async<Response, TransportFailure>((resume) => {
        const abandon = dispatch(
          request,
          (outcome) => resume(outcome instanceof TransportFailure ? Effect.fail(outcome) : Effect.succeed(outcome))
        )
        return Effect.sync(abandon)
      }),
      (response) => Effect.sync(() => response.body.destroy())
    )
})

/**
 * @since 0.1.0
 */
export class DalTransport extends Context.Tag("@fedkit/dal-client/DalTransport")<DalTransport, DalTransportService>() {}

const codeOf = (cause: unknown): string | undefined => {
  for (let c = cause, depth = 0; typeof c === "object" && c !== null && depth < 4; depth++) {
    const code = (c as { readonly code?: unknown }).code
    if (typeof code === "string") return code
    c = (c as { readonly cause?: unknown }).cause
  }
  return undefined
}

const requestCodes = new Set([
  "ERR_INVALID_URL",
  "ERR_INVALID_PROTOCOL",
  "ERR_INVALID_HTTP_TOKEN",
  "ERR_INVALID_CHAR",
  "ERR_UNESCAPED_CHARACTERS",
  "ERR_HTTP_INVALID_HEADER_VALUE"
])

// A pooled connection the server closed while it sat idle fails the next request at once: that is not the DAL's
// answer, so the request goes out again (on another connection) this many times before it counts as a failure.
const staleConnectionRetries = 3
const staleCodes = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"])

const failureOf = (cause: unknown, during: "head" | "body"): TransportFailure => {
  if (cause instanceof TransportFailure) return cause
  const code = codeOf(cause)
  // llhttp's errors name the rule the response broke, never quote it
  if (code?.startsWith("HPE_") === true) {
    return new TransportFailure({
      kind: "invalid",
      reason: `invalid HTTP response (${code}: ${(cause as { reason?: unknown }).reason ?? "parse error"})`
    })
  }
  if (code !== undefined && requestCodes.has(code)) {
    return new TransportFailure({ kind: "request", reason: `cannot send the request (${code})` })
  }
  const suffix = code === undefined ? "" : ` (${code})`
  return during === "body"
    ? new TransportFailure({ kind: "cut", reason: `connection lost during the body${suffix}` })
    : new TransportFailure({ kind: "connect", reason: `connection failed${suffix}` })
}

const cut = () => new TransportFailure({ kind: "cut", reason: "the connection closed before the body was complete" })

const isBodiless = (method: Request["method"], status: number): boolean =>
  method === "HEAD" || status === 204 || status === 304

/**
 * What this transport refuses in a response llhttp accepted: a Transfer-Encoding other than one `chunked`
 * (anything else would hand over encoded bytes or leave the framing to guesswork), and, for a 2xx, a
 * Content-Encoding other than identity (the client stores bytes as the DAL sends them, so they must be the file's)
 * and a body without Content-Length or chunking (one cut short could not be told from a whole one).
 *
 * @since 0.1.0
 */
export const refusal = (
  method: Request["method"],
  status: number,
  rawHeaders: ReadonlyArray<string>,
  headers: Readonly<Record<string, string | undefined>>
): string | undefined => {
  let encodings = 0
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === "transfer-encoding") encodings++
  }
  const transfer = headers["transfer-encoding"]
  if (encodings > 1) return "more than one Transfer-Encoding header"
  if (transfer !== undefined && transfer.trim().toLowerCase() !== "chunked") {
    return `unsupported Transfer-Encoding ${JSON.stringify(transfer)} (only "chunked" is accepted)`
  }
  if (status < 200 || status >= 300) return undefined
  const content = headers["content-encoding"]?.trim().toLowerCase()
  if (content !== undefined && content !== "" && content !== "identity") {
    return `unsupported Content-Encoding ${
      JSON.stringify(headers["content-encoding"])
    } (the client stores the bytes it receives, so they must be sent as they are)`
  }
  if (!isBodiless(method, status) && transfer === undefined && headers["content-length"] === undefined) {
    return "a body without Content-Length or chunked framing (a cut could not be told from the end)"
  }
  return undefined
}

/**
 * Node's parsed headers with repeated ones joined, as the service hands them out.
 *
 * @since 0.1.0
 */
export const flatHeaders = (headers: NodeHttp.IncomingHttpHeaders): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {}
  for (const [name, value] of Object.entries(headers)) out[name] = Array.isArray(value) ? value.join(", ") : value
  return out
}

/** A `node:http` response as a push body; `paused` says whether its consumer holds it back. */
const bodyOf = (
  message: NodeHttp.IncomingMessage,
  timers: { readonly bodyStarted: (body: { readonly paused: () => boolean; received: number }) => void }
): Body => {
  let consumer: Consumer | undefined
  let outcome: { readonly failure: TransportFailure | undefined } | undefined
  let paused = false
  const progress = { paused: () => paused, received: 0 }
  const finish = (failure: TransportFailure | undefined) => {
    if (outcome !== undefined) return
    outcome = { failure }
    consumer?.onEnd(failure)
  }
  message.on("end", () => finish(message.complete ? undefined : cut()))
  message.on("error", (cause) => finish(failureOf(cause, "body")))
  message.on("close", () => finish(message.complete ? undefined : cut()))
  return {
    attach: (attached) => {
      consumer = attached
      if (outcome !== undefined) return attached.onEnd(outcome.failure)
      timers.bodyStarted(progress)
      message.on("data", (chunk: Buffer) => {
        progress.received += chunk.length
        if (!attached.onData(chunk)) {
          paused = true
          message.pause()
        }
      })
    },
    resume: () => {
      paused = false
      message.resume()
    },
    destroy: () => {
      if (outcome !== undefined && message.complete) return
      finish(new TransportFailure({ kind: "cut", reason: "the body was abandoned" }))
      message.destroy()
    }
  }
}

/**
 * The live transport over the pools of {@link ConnectionPool}.
 *
 * @since 0.1.0
 */
/* eslint-disable max-lines-per-function -- one closure per exchange: its Node callbacks share its timers, request and retries */
export const make = (agents: ConnectionPool["Type"]): DalTransportService =>
  fromDispatch((request, onHead) => {
    let answered = false
    const resume = (outcome: Response | TransportFailure) => {
      if (answered) return
      answered = true
      onHead(outcome)
    }
    const timeoutMillis = Duration.toMillis(request.timeout)
    const waited = Duration.format(request.timeout)
    let current: NodeHttp.ClientRequest | undefined
    let headTimer: ReturnType<typeof setTimeout> | undefined
    let rateTimer: ReturnType<typeof setInterval> | undefined
    const stopTimers = () => {
      clearTimeout(headTimer)
      clearInterval(rateTimer)
    }

    const send = (staleRetries: number): void => {
      // abandoned before the first send, or while a stale connection's failure was about to send again
      if (answered) return
      let url: URL
      let req: NodeHttp.ClientRequest
      try {
        url = new URL(request.url)
        const secure = url.protocol === "https:"
        req = (secure ? nodeHttps() : NodeHttp).request(url, {
          method: request.method,
          agent: secure ? agents.https : agents.http,
          headers: {
            ...request.headers,
            ...(request.body === undefined ? {} : { "content-length": String(request.body.length) })
          }
        })
      } catch (cause) {
        // invalid header values or URLs are refused synchronously
        return resume(failureOf(cause, "head"))
      }
      current = req
      let response: NodeHttp.IncomingMessage | undefined
      let body: { readonly paused: () => boolean; received: number } | undefined
      req.setTimeout(timeoutMillis, () => {
        if (response === undefined) {
          return void req.destroy(
            new TransportFailure({
              kind: "timeout",
              reason: request.body === undefined
                ? `no response headers within ${waited}`
                : `the DAL neither read the upload nor answered for ${waited}`
            })
          )
        }
        // the timer fired once and needs activity to fire again: re-arm it for when the consumer resumes
        if (body === undefined || body.paused()) return void req.setTimeout(timeoutMillis)
        response.destroy(new TransportFailure({ kind: "timeout", reason: `no body bytes for ${waited}` }))
      })
      req.on("finish", () => {
        headTimer = setTimeout(() => {
          if (response === undefined) {
            req.destroy(new TransportFailure({ kind: "timeout", reason: `no response headers within ${waited}` }))
          }
        }, timeoutMillis)
      })
      req.on("error", (cause) => {
        if (response !== undefined) return
        stopTimers()
        if (req.reusedSocket && staleRetries > 0 && staleCodes.has(codeOf(cause) ?? "")) {
          return send(staleRetries - 1)
        }
        resume(failureOf(cause, "head"))
      })
      req.on("response", (res) => {
        response = res
        clearTimeout(headTimer)
        // an unread body must never raise an unhandled 'error' event
        res.on("error", () => {})
        const headers = flatHeaders(res.headers)
        const refused = refusal(request.method, res.statusCode ?? 0, res.rawHeaders, headers)
        if (refused !== undefined) {
          res.destroy()
          return resume(new TransportFailure({ kind: "refused", reason: refused }))
        }
        const minRate = request.minBytesPerSecond
        resume({
          status: res.statusCode ?? 0,
          headers,
          body: bodyOf(res, {
            bodyStarted: (progress) => {
              body = progress
              if (minRate === undefined) return
              let heldBack = false
              let before = 0
              rateTimer = setInterval(() => {
                const moved = progress.received - before
                before = progress.received
                const excused = heldBack || progress.paused()
                heldBack = progress.paused()
                if (!excused && moved < (minRate * timeoutMillis) / 1000) {
                  res.destroy(
                    new TransportFailure({
                      kind: "slow",
                      reason: `the body arrived at ${
                        Math.round((moved * 1000) / timeoutMillis)
                      } bytes/s over ${waited}, below the minimum of ${minRate}`
                    })
                  )
                }
              }, timeoutMillis)
              rateTimer.unref()
              res.once("close", stopTimers)
            }
          })
        })
      })
      const source = request.body?.open()
      if (source === undefined || source instanceof Uint8Array) {
        req.end(source)
      } else {
        source.once("error", (cause) => req.destroy(cause))
        source.pipe(req)
      }
    }

    // Node may report a failure synchronously (an invalid URL): `onHead` is never called before this returns
    process.nextTick(() => send(staleConnectionRetries))
    return () => {
      if (answered) return
      answered = true
      stopTimers()
      current?.destroy()
    }
  })
/* eslint-enable max-lines-per-function */

/**
 * The live transport, over the given connection pools.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<DalTransport, never, ConnectionPool> = Layer.effect(
  DalTransport,
  Effect.map(ConnectionPool, make)
)

/**
 * What a {@link layerTest} handler answers.
 *
 * @since 0.1.0
 */
export interface CannedResponse {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly body?: Uint8Array | string | undefined
}

/**
 * A transport that answers from memory, for tests of code above the wire: `handle` gets each request (its body read
 * whole) and answers a status, headers and a body, or a failure.
 *
 * @since 0.1.0
 */
export const layerTest = (
  handle: (request: Request & { readonly sent: Uint8Array | undefined }) => CannedResponse | TransportFailure
): Layer.Layer<DalTransport> =>
  Layer.succeed(
    DalTransport,
    fromDispatch((request, onHead) => {
      let abandoned = false
      const answer = (sent: Uint8Array | undefined) => {
        if (abandoned) return
        const answered = handle({ ...request, sent })
        if (answered instanceof TransportFailure) return onHead(answered)
        const bytes = typeof answered.body === "string"
          ? Buffer.from(answered.body)
          : answered.body ?? new Uint8Array(0)
        const headers = Object.fromEntries(
          Object.entries({ "content-length": String(bytes.length), ...answered.headers }).map((
            [name, value]
          ) => [name.toLowerCase(), value])
        )
        const refused = refusal(request.method, answered.status, Object.entries(headers).flat(), headers)
        if (refused !== undefined) return onHead(new TransportFailure({ kind: "refused", reason: refused }))
        let done = false
        onHead({
          status: answered.status,
          headers,
          body: {
            attach: (consumer) => {
              if (done) return
              done = true
              if (bytes.length > 0 && !isBodiless(request.method, answered.status)) consumer.onData(bytes)
              consumer.onEnd(undefined)
            },
            resume: () => {},
            destroy: () => void (done = true)
          }
        })
      }
      const source = request.body?.open()
      if (source === undefined || source instanceof Uint8Array) {
        process.nextTick(() => answer(source))
      } else {
        void (async () => {
          const chunks: Array<Buffer> = []
          for await (const chunk of source) chunks.push(Buffer.from(chunk as Uint8Array))
          return new Uint8Array(Buffer.concat(chunks))
        })().then(answer, (cause: unknown) => {
          if (!abandoned) onHead(new TransportFailure({ kind: "request", reason: `the upload failed: ${cause}` }))
        })
      }
      return () => void (abandoned = true)
    })
  )
