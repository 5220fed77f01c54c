/**
 * One HTTP exchange with the DAL over an undici connection pool: bearer token, status classification, timeouts,
 * and the retry loop (exponential backoff with full jitter, Retry-After honoured) shared by every operation.
 *
 * Bodies are plain Node streams: bulk bytes are piped to disk without per-chunk Effect work (measured: the Effect
 * HttpClient body stream costs several times the CPU per byte on the same pool). undici's own timers give exactly
 * the timeout semantics wanted: `headersTimeout` bounds the wait for headers (and, while a request body is stuck,
 * the DAL not reading it), `bodyTimeout` bounds the gap between body bytes and pauses while the consumer (the disk)
 * applies backpressure. Neither limits the length of a whole transfer.
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { Readable } from "node:stream"
import type * as Undici from "undici"
import {
  DalAuthError,
  type DalError,
  DalNotFound,
  DalStatusError,
  DalTransportError,
  type Subject
} from "../DalError.js"
import type { Settings } from "../DalSettings.js"
import * as Pool from "./pool.js"

/** A failure worth another attempt; `final` builds the error to report once attempts run out. */
export class Transient extends Data.TaggedError("Transient")<{
  readonly final: (attempts: number) => DalError
  readonly retryAfter: Option.Option<Duration.Duration>
}> {}

const isTransientStatus = (status: number): boolean =>
  status === 408 || status === 425 || status === 429 || status >= 500

// Waiting longer than this on a server's say-so would look like a hang; the retry then happens at this bound.
const maxRetryAfter = Duration.minutes(5)

/** `Retry-After` as delta-seconds or an HTTP date. */
export const parseRetryAfter = (raw: string | undefined, now: number): Option.Option<Duration.Duration> => {
  if (raw === undefined || raw.trim() === "") return Option.none()
  const value = raw.trim()
  if (/^\d+$/.test(value)) return Option.some(Duration.seconds(Number(value)))
  const at = Date.parse(value)
  return Number.isNaN(at) ? Option.none() : Option.some(Duration.millis(Math.max(0, at - now)))
}

const codeOf = (cause: unknown): string | undefined => {
  for (let c = cause, depth = 0; typeof c === "object" && c !== null && depth < 4; depth++) {
    const code = (c as { readonly code?: unknown }).code
    if (typeof code === "string") return code
    c = (c as { readonly cause?: unknown }).cause
  }
  return undefined
}

/** A response: status, headers (lower-case names, first value), and the body as a Node stream. */
export interface Reply {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: Readable
}

export interface Request {
  readonly method: "GET" | "HEAD" | "PUT"
  /** Absolute URL below the DAL base URL. */
  readonly url: string
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** A request body; a fresh stream per attempt, with its length. */
  readonly body?: { readonly open: () => Readable | Uint8Array; readonly length: number } | undefined
}

export interface Http {
  readonly settings: Settings
  /** An absolute URL below the DAL base URL. */
  readonly url: (path: string) => string
  /** Sends one request and answers its 2xx reply; the body is destroyed when the scope closes (if still open). */
  readonly send: (subject: Subject, request: Request) => Effect.Effect<Reply, Transient | DalError, Scope.Scope>
  /** Maps a failure of a reply's body stream (broken connection, idle timeout). */
  readonly bodyFailure: (subject: Subject, cause: unknown) => Transient | DalError
  /** The whole (small) body as text, e.g. a listing page or a policy. */
  readonly text: (subject: Subject, reply: Reply) => Effect.Effect<string, Transient | DalError>
  /** Runs `attempt` until it succeeds, fails for good, or retries run out. */
  readonly retrying: <A, E, R>(
    attempt: (n: number) => Effect.Effect<A, E | Transient, R>
  ) => Effect.Effect<A, Exclude<E, Transient> | DalError, R>
  /** Sleeps before retry number `n` (0-based); fails with the final error when retries are exhausted. */
  readonly backoff: (n: number, transient: Transient) => Effect.Effect<void, DalError>
}

const firstValues = (headers: Undici.Dispatcher.ResponseData["headers"]): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {}
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = Array.isArray(value) ? value[0] : value
  return out
}

/** Reads at most `limit` bytes of a body as text, then lets the rest go. */
const readUpTo = (body: Readable, limit: number): Promise<string> =>
  new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const done = () => {
      body.off("data", onData)
      body.destroy()
      resolve(Buffer.concat(chunks).toString("utf8"))
    }
    const onData = (chunk: Buffer) => {
      chunks.push(chunk)
      size += chunk.length
      if (size >= limit) done()
    }
    body.on("data", onData)
    body.once("end", done)
    body.once("error", done)
  })

export const make = (settings: Settings, dispatcher: Undici.Dispatcher): Http => {
  const timeoutMillis = Duration.toMillis(settings.timeout)
  const waited = Duration.format(settings.timeout)
  const token = Redacted.value(settings.token)
  const scrub = (text: string): string => token === "" ? text : text.replaceAll(token, "<redacted>")

  const transient = (subject: Subject, reason: string, retryAfter = Option.none<Duration.Duration>()) =>
    new Transient({ final: (attempts) => new DalTransportError({ ...subject, reason, attempts }), retryAfter })

  const requestFailure = (subject: Subject, uploading: boolean, cause: unknown): Transient | DalError => {
    const code = codeOf(cause)
    if (code === "UND_ERR_HEADERS_TIMEOUT") {
      return transient(
        subject,
        uploading
          ? `the DAL neither read the upload nor answered for ${waited}`
          : `no response headers within ${waited}`
      )
    }
    if (code === "UND_ERR_INVALID_ARG" || code === "ERR_INVALID_URL" || code === "UND_ERR_NOT_SUPPORTED") {
      return new DalTransportError({ ...subject, reason: `cannot send the request (${code})`, attempts: 1 })
    }
    return transient(subject, code === undefined ? "connection failed" : `connection failed (${code})`)
  }

  const bodyFailure: Http["bodyFailure"] = (subject, cause) => {
    const code = codeOf(cause)
    return code === "UND_ERR_BODY_TIMEOUT"
      ? transient(subject, `no body bytes for ${waited} (idle timeout)`)
      : transient(
        subject,
        code === undefined ? "connection lost during the body" : `connection lost during the body (${code})`
      )
  }

  const classify = (subject: Subject, reply: Reply): Effect.Effect<Reply, Transient | DalError> => {
    const status = reply.status
    if (status >= 200 && status < 300) return Effect.succeed(reply)
    return Effect.flatMap(
      Effect.promise(() => readUpTo(reply.body, 512)),
      (text): Effect.Effect<never, Transient | DalError> => {
        const detail = scrub(text.split(/\r?\n/)[0] ?? "").trim().slice(0, 200)
        if (status === 401 || status === 403) return Effect.fail(new DalAuthError({ ...subject, status }))
        if (status === 404 || status === 410) return Effect.fail(new DalNotFound(subject))
        if (isTransientStatus(status)) {
          return Effect.fail(
            new Transient({
              final: (attempts) => new DalStatusError({ ...subject, status, attempts, detail }),
              retryAfter: parseRetryAfter(reply.headers["retry-after"], Date.now())
            })
          )
        }
        return Effect.fail(new DalStatusError({ ...subject, status, attempts: 1, detail }))
      }
    )
  }

  const send: Http["send"] = (subject, request) =>
    Effect.acquireRelease(
      Effect.async<Reply, Transient | DalError>((resume) => {
        const controller = new AbortController()
        const url = new URL(request.url)
        Pool.request(dispatcher, {
          origin: url.origin,
          path: url.pathname + url.search,
          method: request.method,
          headers: {
            ...request.headers,
            ...(request.body === undefined ? {} : { "content-length": String(request.body.length) }),
            authorization: `Bearer ${token}`
          },
          body: request.body?.open() ?? null,
          signal: controller.signal,
          headersTimeout: timeoutMillis,
          bodyTimeout: timeoutMillis
        }).then(
          (response) => {
            // An unread body must never raise an unhandled 'error' event.
            response.body.on("error", () => {})
            resume(Effect.succeed({
              status: response.statusCode,
              headers: firstValues(response.headers),
              body: response.body
            }))
          },
          (cause: unknown) => resume(Effect.fail(requestFailure(subject, request.body !== undefined, cause)))
        )
        return Effect.sync(() => controller.abort())
      }),
      (reply) => Effect.sync(() => reply.body.destroy())
    ).pipe(Effect.flatMap((reply) => classify(subject, reply)))

  const text: Http["text"] = (subject, reply) =>
    Effect.tryPromise({
      try: () => (reply.body as Readable & { readonly text: () => Promise<string> }).text(),
      catch: (cause) => bodyFailure(subject, cause)
    })

  const backoff: Http["backoff"] = (n, failure) => {
    if (n >= settings.retries) return Effect.fail(failure.final(n + 1))
    return Option.match(failure.retryAfter, {
      onSome: (d) => Effect.succeed(Duration.min(d, maxRetryAfter)),
      onNone: () => {
        const ceiling = Math.min(
          Duration.toMillis(settings.retryMaxDelay),
          Duration.toMillis(settings.retryBaseDelay) * 2 ** n
        )
        return Effect.map(Random.next, (r) => Duration.millis(Math.floor(r * ceiling)))
      }
    }).pipe(Effect.flatMap(Effect.sleep))
  }

  const retrying: Http["retrying"] = <A, E, R>(attempt: (n: number) => Effect.Effect<A, E | Transient, R>) => {
    const loop = (n: number): Effect.Effect<A, Exclude<E, Transient> | DalError, R> =>
      Effect.catchIf(
        attempt(n),
        (e): e is Transient => e instanceof Transient,
        (t) => Effect.zipRight(backoff(n, t), Effect.suspend(() => loop(n + 1)))
      ) as Effect.Effect<A, Exclude<E, Transient> | DalError, R>
    return loop(0)
  }

  return { settings, url: (path) => settings.url + path, send, bodyFailure, text, retrying, backoff }
}
