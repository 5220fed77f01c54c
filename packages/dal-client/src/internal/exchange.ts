/**
 * One DAL exchange as the client's operations need it: the bearer token added, the response classified (only a 2xx
 * is answered), bodies read whole within a limit. Everything on the wire goes through the DalTransport service.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { Readable } from "node:stream"
import { type DalError, DalIntegrityError, type Subject } from "../DalError.js"
import type { Settings } from "../DalSettings.js"
import { type DalTransportService, type Response, TransportFailure } from "../DalTransport.js"
import * as Classify from "./classify.js"
import * as Retry from "./retry.js"
import type { Transient } from "./retry.js"
import * as Scrub from "./scrub.js"

export interface Request {
  readonly method: "GET" | "HEAD" | "PUT"
  /** Absolute URL below the DAL base URL. */
  readonly url: string
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly body?: { readonly open: () => Readable | Uint8Array; readonly length: number } | undefined
}

export interface Exchange extends Retry.Retry {
  readonly settings: Settings
  readonly scrub: Scrub.Scrubber
  /** An absolute URL below the DAL base URL. */
  readonly url: (path: string) => string
  /**
   * Sends one request and answers its 2xx response; the body is abandoned when the scope closes, unless it ended.
   * `answered`: what the transport already answered to this request (see `dispatch`), classified as if it had just
   * arrived.
   */
  readonly send: (
    subject: Subject,
    request: Request,
    answered?: Response | TransportFailure
  ) => Effect.Effect<Response, Transient | DalError, Scope.Scope>
  /**
   * The request as `send` makes it, through the transport's `dispatch`: the raw answer, for a caller that handles the
   * common case itself and gives anything else to `send` (as `answered`).
   */
  readonly dispatch: (request: Request, onHead: (outcome: Response | TransportFailure) => void) => () => void
  /** Maps a body's failure (cut, idle, too slow) for the retry loop. */
  readonly bodyFailure: (subject: Subject, failure: TransportFailure) => Transient | DalError
  /** The whole body, refused (`what` names it) when over `limit` bytes. */
  readonly collect: (
    subject: Subject,
    response: Response,
    limit: { readonly bytes: number; readonly what: string }
  ) => Effect.Effect<Buffer, Transient | DalError>
}

/** At most `limit` bytes of a body, for an error's text; the rest is abandoned. Never fails. */
const readUpTo = (response: Response, limit: number): Effect.Effect<string> =>
  Effect.async<string>((resume) => {
    const chunks: Array<Uint8Array> = []
    let size = 0
    response.body.attach({
      onData: (chunk) => {
        chunks.push(chunk.subarray(0, limit - size))
        size += chunk.length
        if (size < limit) return true
        response.body.destroy()
        return false
      },
      onEnd: () => resume(Effect.succeed(Buffer.concat(chunks).toString("utf8")))
    })
  })

export const make = (settings: Settings, transport: DalTransportService): Exchange => {
  const token = Redacted.value(settings.token)
  const scrub = Scrub.make(token)
  const retry = Retry.make(settings)

  const wire = (request: Request) => ({
    method: request.method,
    url: request.url,
    headers: { ...request.headers, authorization: `Bearer ${token}` },
    body: request.body,
    timeout: settings.timeout,
    minBytesPerSecond: settings.minRate
  })

  const answer = (answered: Response | TransportFailure): Effect.Effect<Response, TransportFailure, Scope.Scope> =>
    answered instanceof TransportFailure
      ? Effect.fail(answered)
      : Effect.acquireRelease(Effect.succeed(answered), (response) => Effect.sync(() => response.body.destroy()))

  const send: Exchange["send"] = (subject, request, answered) =>
    (answered === undefined ? transport.request(wire(request)) : answer(answered)).pipe(
      Effect.mapError((failure) => Classify.fromTransport(subject, scrub, failure)),
      Effect.flatMap((response) =>
        response.status >= 200 && response.status < 300
          ? Effect.succeed(response)
          : Effect.flatMap(
            readUpTo(response, Classify.errorTextBytes),
            (text) => Effect.fail(Classify.fromStatus(subject, scrub, response.status, response.headers, text))
          )
      )
    )

  const bodyFailure: Exchange["bodyFailure"] = (subject, failure) => Classify.fromTransport(subject, scrub, failure)

  const collect: Exchange["collect"] = (subject, response, limit) =>
    Effect.async<Buffer, Transient | DalError>((resume) => {
      const announced = Number(response.headers["content-length"] ?? 0)
      const over = () =>
        new DalIntegrityError({ ...subject, reason: `${limit.what} is larger than ${limit.bytes} bytes` })
      if (announced > limit.bytes) {
        response.body.destroy()
        return resume(Effect.fail(over()))
      }
      const chunks: Array<Uint8Array> = []
      let size = 0
      let refused = false
      response.body.attach({
        onData: (chunk) => {
          size += chunk.length
          if (size > limit.bytes) {
            refused = true
            response.body.destroy()
            return false
          }
          chunks.push(chunk)
          return true
        },
        onEnd: (failure) =>
          resume(
            refused
              ? Effect.fail(over())
              : failure === undefined
              ? Effect.succeed(Buffer.concat(chunks))
              : Effect.fail(bodyFailure(subject, failure))
          )
      })
    })

  return {
    settings,
    scrub,
    ...retry,
    url: (path) => settings.url + path,
    send,
    dispatch: (request, onHead) => transport.dispatch(wire(request), onHead),
    bodyFailure,
    collect
  }
}
