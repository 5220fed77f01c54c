// One request and its answer: the exchange, JSON replies and refusals, the log line, reading a bounded body, and the
// headers every answer carries.
import type { Issue } from "@fedkit/runtime-core/Issue"
import * as Cause from "effect/Cause"
import * as LogLevel from "effect/LogLevel"
import { randomUUID } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { LogLine } from "./logLine.js"
import { excerpt } from "./text.js"

/** What a refused body still sends is read and dropped up to this many bytes; beyond it the connection is closed. */
export const DRAIN_CAP_BYTES = 8 * 1024 * 1024

/** The facts a request's log line carries, filled in by the handlers. */
export type Facts = Record<string, string | number>

/** An answer: always JSON. */
export interface Reply {
  readonly status: number
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/** Every refusal has the same shape: `error` (one line) and `errors` (at least one `{ path, message }`). */
export const refusal = (
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
export interface Exchange {
  readonly incoming: IncomingMessage
  readonly response: ServerResponse
  readonly requestId: string
  readonly started: number
  readonly facts: Facts
}

/**
 * A client's `x-request-id` is echoed (and logged) when it is 1 to 200 characters of letters, digits and
 * `- _ . : + / = @`, which covers UUIDs, hex, base64 and the usual prefixed ids; anything else is replaced.
 */
const WELL_FORMED_REQUEST_ID = /^[A-Za-z0-9._:+/=@-]{1,200}$/

const requestIdOf = (incoming: IncomingMessage): string => {
  const given = incoming.headers["x-request-id"]
  return typeof given === "string" && WELL_FORMED_REQUEST_ID.test(given) ? given : randomUUID()
}

export const makeExchange = (incoming: IncomingMessage, response: ServerResponse): Exchange => ({
  incoming,
  response,
  requestId: requestIdOf(incoming),
  started: performance.now(),
  facts: {}
})

/**
 * On every answer: JSON is never sniffed as something else, and no cache keeps a job or a refusal. Headers are given
 * to `writeHead` as one flat list of names and values, which Node takes without copying them into an object first.
 */
const SAFETY_HEADERS = ["x-content-type-options", "nosniff", "cache-control", "no-store"] as const

const INTERNAL_ERROR = "Internal error; the request id identifies it in the server's log."

/** Answering and logging, through one logger. */
export interface Responder {
  /** The request's one log line. */
  readonly log: (exchange: Exchange, status: number) => void
  /** Sends `reply` (unless the client has gone) and logs it. */
  readonly answer: (exchange: Exchange, reply: Reply) => void
  /** A line at level Error about a request, beside its one request line. */
  readonly logError: (exchange: Exchange, message: string, annotations: Readonly<Record<string, unknown>>) => void
  /** A 500, and the cause in the log. */
  readonly failed: (exchange: Exchange, cause: Cause.Cause<unknown>) => void
  /** Runs a handler: whatever it throws is a 500 and a log line, never an exception at the process. */
  readonly guard: (exchange: Exchange, handle: () => void) => void
}

export const makeResponder = (logLine: LogLine): Responder => {
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
      const headers: Array<string> = [
        ...SAFETY_HEADERS,
        "content-type",
        "application/json",
        "content-length",
        String(Buffer.byteLength(text)),
        "x-request-id",
        exchange.requestId
      ]
      if (reply.headers !== undefined) {
        for (const name of Object.keys(reply.headers)) headers.push(name, reply.headers[name]!)
      }
      response.writeHead(reply.status, headers)
      response.end(text)
    }
    log(exchange, reply.status)
  }
  const failed = (exchange: Exchange, cause: Cause.Cause<unknown>) => {
    logLine(LogLevel.Error, "request failed", { requestId: exchange.requestId }, cause)
    answer(exchange, refusal(500, INTERNAL_ERROR))
  }
  const guard = (exchange: Exchange, handle: () => void) => {
    try {
      handle()
    } catch (error) {
      failed(exchange, Cause.die(error))
    }
  }
  const logError = (exchange: Exchange, message: string, annotations: Readonly<Record<string, unknown>>) =>
    logLine(LogLevel.Error, message, { requestId: exchange.requestId, ...annotations })
  return { log, answer, failed, guard, logError }
}

/** Lets a refused body's remaining bytes be read and dropped, up to a cap and a deadline. */
export const discardRest = (incoming: IncomingMessage, deadlineMs: number) => {
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
export type ReadResult =
  | { readonly _tag: "Body"; readonly body: Buffer }
  | { readonly _tag: "Overflow"; readonly bytes: number }
  | { readonly _tag: "TimedOut" }
  | { readonly _tag: "Broken" }

/**
 * Reads a body, stopping as soon as it is larger than `maxBytes` (memory stays bounded whatever is sent) or when
 * `deadlineMs` has passed; `done` is called once.
 */
export const readBounded = (
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
export const isJson = (contentType: string | undefined): boolean => {
  if (contentType === undefined) return false
  const [type, ...params] = contentType.split(";").map((part) => part.trim().toLowerCase())
  if (type !== "application/json") return false
  return params.every((param) => !param.startsWith("charset=") || /^charset="?utf-8"?$/.test(param))
}

export const tooLargeMessage = (maxBytes: number, bytes: number | undefined) =>
  bytes === undefined
    ? `Payload too large: at most ${maxBytes} bytes accepted. Send a smaller payload.`
    : `Payload too large: ${bytes} bytes sent, at most ${maxBytes} bytes accepted. Send a smaller payload.`
