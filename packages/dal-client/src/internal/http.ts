/**
 * One HTTP exchange with the DAL over Node's keep-alive connection pools: bearer token, status classification,
 * timeouts, and the retry loop (exponential backoff with full jitter, Retry-After honoured) shared by every operation.
 *
 * Bodies are plain Node streams: bulk bytes are piped to disk without per-chunk Effect work. `node:http` is used
 * rather than undici or fetch because it costs about half the CPU and 40 MB less memory per GiB on this path. The
 * timeout is the socket's idle timer: it bounds the wait for the connection, for response headers (and, while an
 * upload is stuck, for the DAL to read it) and for the next body bytes, never the length of a whole transfer; while
 * the consumer (the disk) holds the body back, it is re-armed instead of firing.
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as NodeHttp from "node:http"
import * as NodeHttps from "node:https"
import type { Readable } from "node:stream"
import {
  DalAuthError,
  type DalError,
  DalNotFound,
  DalStatusError,
  DalTransportError,
  type Subject
} from "../DalError.js"
import type { Settings } from "../DalSettings.js"
import * as RawHttp from "./rawHttp.js"

/** Keep-alive connection pools, one per scheme, shared by every request of a client. */
export interface Agents {
  readonly http: NodeHttp.Agent
  readonly https: NodeHttps.Agent
}

export const makeAgents = (): Agents => ({
  http: new NodeHttp.Agent({ keepAlive: true }),
  https: new NodeHttps.Agent({ keepAlive: true })
})

export const destroyAgents = (agents: Agents): void => {
  agents.http.destroy()
  agents.https.destroy()
}

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

const reasonOf = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)

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
  readonly body: NodeHttp.IncomingMessage
}

/** A reply whose body pushes bytes (see RawHttp.Body). */
export interface BodyReply {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: RawHttp.Body
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
  /**
   * GET for bulk bytes: the 2xx reply's body pushes bytes to one consumer (see RawHttp.Body). Plain-HTTP DALs are
   * read through reused buffers (RawHttp); HTTPS goes through `node:https`. The body is abandoned when the scope
   * closes, unless it ended.
   */
  readonly getBody: (
    subject: Subject,
    url: string,
    headers: Readonly<Record<string, string>>
  ) => Effect.Effect<BodyReply, Transient | DalError, Scope.Scope>
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

const firstValues = (headers: NodeHttp.IncomingHttpHeaders): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {}
  for (const [name, value] of Object.entries(headers)) out[name] = Array.isArray(value) ? value[0] : value
  return out
}

/**
 * The consumer (the disk) is behind and Node has stopped reading the socket: silence is then not the DAL's fault.
 * (A consumer waiting for bytes finds the buffer below its mark.)
 */
const heldBack = (body: Readable): boolean => body.readableLength >= body.readableHighWaterMark

/** The whole body as text. */
const readAll = (body: Readable): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    body.on("data", (chunk: Buffer) => chunks.push(chunk))
    body.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    body.once("error", reject)
  })

/** How much of an error reply's body is read for its message. */
const errorTextBytes = 512

const cutError = (): Error => RawHttp.codedError(RawHttp.codes.cut, "the DAL closed the connection mid-body")

/** A `node:http` response as a push body (the bulk path of HTTPS DALs, and error texts). */
const bodyOfMessage = (message: NodeHttp.IncomingMessage): RawHttp.Body => {
  let ended = false
  return {
    attach: (consumer) => {
      const end = (cause: Error | undefined) => {
        if (ended) return
        ended = true
        consumer.onEnd(cause)
      }
      message.on("data", (chunk: Buffer) => {
        if (!consumer.onBody(chunk, 0, chunk.length)) message.pause()
      })
      message.once(
        "end",
        () => end(message.complete ? undefined : cutError())
      )
      message.once("error", end)
      message.once("close", () => end(cutError()))
    },
    resume: () => void message.resume(),
    destroy: () => void message.destroy()
  }
}

/** Reads at most `limit` bytes of a push body as text, then abandons the rest. */
const readBodyUpTo = (body: RawHttp.Body, limit: number): Promise<string> =>
  new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    let size = 0
    body.attach({
      onBody: (buffer, start, end) => {
        chunks.push(Buffer.from(buffer.subarray(start, Math.min(end, start + limit - size))))
        size += end - start
        if (size >= limit) {
          body.destroy()
          return false
        }
        return true
      },
      onEnd: () => resolve(Buffer.concat(chunks).toString("utf8"))
    })
  })

export const make = (settings: Settings, agents: Agents, raw: RawHttp.Pool): Http => {
  const timeoutMillis = Duration.toMillis(settings.timeout)
  const waited = Duration.format(settings.timeout)
  const token = Redacted.value(settings.token)
  const scrub = (text: string): string => token === "" ? text : text.replaceAll(token, "<redacted>")

  const transient = (subject: Subject, reason: string, retryAfter = Option.none<Duration.Duration>()) =>
    new Transient({ final: (attempts) => new DalTransportError({ ...subject, reason, attempts }), retryAfter })

  const requestFailure = (subject: Subject, uploading: boolean, cause: unknown): Transient | DalError => {
    const code = codeOf(cause)
    if (code === RawHttp.codes.headersTimeout) {
      return transient(
        subject,
        uploading
          ? `the DAL neither read the upload nor answered for ${waited}`
          : `no response headers within ${waited}`
      )
    }
    if (
      code === "ERR_INVALID_URL" || code === "ERR_INVALID_PROTOCOL" || code === "ERR_INVALID_HTTP_TOKEN" ||
      code === "ERR_INVALID_CHAR" || code === "ERR_UNESCAPED_CHARACTERS"
    ) {
      return new DalTransportError({ ...subject, reason: `cannot send the request (${code})`, attempts: 1 })
    }
    // the reason quotes the offending response text, which a hostile server could fill with the token it was sent
    if (code === RawHttp.codes.invalid) return transient(subject, scrub(reasonOf(cause)))
    return transient(subject, code === undefined ? "connection failed" : `connection failed (${code})`)
  }

  const bodyFailure: Http["bodyFailure"] = (subject, cause) => {
    const code = codeOf(cause)
    // the reason quotes the offending response text, which a hostile server could fill with the token it was sent
    if (code === RawHttp.codes.invalid) return transient(subject, scrub(reasonOf(cause)))
    if (code === RawHttp.codes.cut) return transient(subject, `connection lost during the body (${reasonOf(cause)})`)
    return code === RawHttp.codes.bodyTimeout
      ? transient(subject, `no body bytes for ${waited} (idle timeout)`)
      : transient(
        subject,
        code === undefined ? "connection lost during the body" : `connection lost during the body (${code})`
      )
  }

  /** Answers a 2xx; turns anything else into the error it means, with the first line of its body as detail. */
  const classify = <R extends { readonly status: number; readonly headers: Reply["headers"] }>(
    subject: Subject,
    reply: R,
    readText: () => Promise<string>
  ): Effect.Effect<R, Transient | DalError> => {
    const status = reply.status
    if (status >= 200 && status < 300) return Effect.succeed(reply)
    return Effect.flatMap(
      Effect.promise(readText),
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
        const url = new URL(request.url)
        const secure = url.protocol === "https:"
        let req: NodeHttp.ClientRequest
        try {
          req = (secure ? NodeHttps : NodeHttp).request(url, {
            method: request.method,
            agent: secure ? agents.https : agents.http,
            headers: {
              ...request.headers,
              ...(request.body === undefined ? {} : { "content-length": String(request.body.length) }),
              authorization: `Bearer ${token}`
            }
          })
        } catch (cause) {
          // invalid header values or URLs are refused synchronously
          return resume(Effect.fail(requestFailure(subject, request.body !== undefined, cause)))
        }
        let response: NodeHttp.IncomingMessage | undefined
        req.setTimeout(timeoutMillis, () => {
          if (response === undefined) return void req.destroy(RawHttp.codedError(RawHttp.codes.headersTimeout))
          // the timer fired once and needs activity to fire again: re-arm it for when the consumer resumes
          if (heldBack(response)) return void req.setTimeout(timeoutMillis)
          response.destroy(RawHttp.codedError(RawHttp.codes.bodyTimeout))
        })
        req.on("error", (cause) => {
          if (response === undefined) resume(Effect.fail(requestFailure(subject, request.body !== undefined, cause)))
        })
        req.on("response", (res) => {
          response = res
          // An unread body must never raise an unhandled 'error' event.
          res.on("error", () => {})
          resume(Effect.succeed({ status: res.statusCode ?? 0, headers: firstValues(res.headers), body: res }))
        })
        const body = request.body?.open()
        if (body === undefined || body instanceof Uint8Array) {
          req.end(body)
        } else {
          body.once("error", (cause) => req.destroy(cause))
          body.pipe(req)
        }
        return Effect.sync(() => req.destroy())
      }),
      // A body read to its end leaves the connection in the pool; anything else closes it.
      (reply) => Effect.sync(() => reply.body.complete ? reply.body.resume() : reply.body.destroy())
    ).pipe(
      Effect.flatMap((reply) => classify(subject, reply, () => readBodyUpTo(bodyOfMessage(reply.body), errorTextBytes)))
    )

  const requestHeaders = (headers: Readonly<Record<string, string>>) => ({
    ...headers,
    authorization: `Bearer ${token}`
  })

  const getBody: Http["getBody"] = (subject, url, headers) => {
    const target = new URL(url)
    if (target.protocol !== "http:") {
      return Effect.map(send(subject, { method: "GET", url, headers }), (reply) => ({
        status: reply.status,
        headers: reply.headers,
        body: bodyOfMessage(reply.body)
      }))
    }
    return Effect.acquireRelease(
      Effect.async<RawHttp.Response, Transient | DalError>((resume) => {
        const abort = raw.get(target, requestHeaders(headers), timeoutMillis, (result) =>
          resume(
            result instanceof Error ? Effect.fail(requestFailure(subject, false, result)) : Effect.succeed(result)
          ))
        return Effect.sync(abort)
      }),
      (response) => Effect.sync(() => response.body.destroy())
    ).pipe(
      Effect.flatMap((response) =>
        classify(
          subject,
          { status: response.head.status, headers: response.head.headers, body: response.body },
          () => readBodyUpTo(response.body, errorTextBytes)
        )
      )
    )
  }

  const text: Http["text"] = (subject, reply) =>
    Effect.tryPromise({ try: () => readAll(reply.body), catch: (cause) => bodyFailure(subject, cause) })

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

  return { settings, url: (path) => settings.url + path, send, getBody, bodyFailure, text, retrying, backoff }
}
