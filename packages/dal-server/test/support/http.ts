import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { type IncomingHttpHeaders, request as httpRequest } from "node:http"
import { connect } from "node:net"

export interface Reply {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
  /** Set when the response did not end cleanly: the error code, or "incomplete" for a short clean close. */
  readonly error?: string
}

export interface RequestOptions {
  readonly method?: string
  readonly headers?: Record<string, string>
  readonly body?: Uint8Array
  /** Give up (destroying the connection) after this long without any bytes from the server. */
  readonly idleTimeoutMillis?: number
}

/**
 * One HTTP request with node:http, which sends `path` exactly as given (no `..` or `//` normalisation), and keeps
 * whatever body bytes arrived even when the connection breaks.
 */
export const request = (base: string, path: string, options: RequestOptions = {}) =>
  Effect.async<Reply, Error>((resume) => {
    const url = new URL(base)
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      path,
      method: options.method ?? "GET",
      headers: options.headers ?? {},
      agent: false
    })
    if (options.idleTimeoutMillis !== undefined) {
      req.setTimeout(options.idleTimeoutMillis, () => req.destroy(Object.assign(new Error("idle"), { code: "IDLE" })))
    }
    let settled = false
    const settle = (reply: Reply | Error) => {
      if (settled) return
      settled = true
      resume(reply instanceof Error ? Effect.fail(reply) : Effect.succeed(reply))
    }
    let responded = false
    // once a response has started, its own "close" reports how it ended
    req.on("error", (error) => responded || settle(error))
    req.on("response", (res) => {
      responded = true
      const chunks: Array<Buffer> = []
      let error: string | undefined
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("error", (e: NodeJS.ErrnoException) => {
        error = e.code ?? e.message
      })
      res.on("close", () => {
        const body = Buffer.concat(chunks)
        const reply = { status: res.statusCode ?? 0, headers: res.headers, body }
        settle(res.complete && error === undefined ? reply : { ...reply, error: error ?? "incomplete" })
      })
    })
    req.end(options.body)
    return Effect.sync(() => req.destroy())
  })

/** A response header as one string (node types some, like Link, as possibly repeated). */
export const header = (reply: Reply, name: string): string | undefined => {
  const value = reply.headers[name]
  return Array.isArray(value) ? value.join(", ") : value
}

export const json = (reply: Reply): unknown => JSON.parse(reply.body.toString("utf8"))

/** Sends raw bytes on a TCP connection and returns everything the server answered until it closed. */
export const rawRequest = (base: string, raw: string) =>
  Effect.async<string, Error>((resume) => {
    const url = new URL(base)
    const socket = connect(Number(url.port), url.hostname)
    const chunks: Array<Buffer> = []
    socket.on("data", (chunk) => chunks.push(chunk))
    socket.on("error", (error) => resume(Effect.fail(error)))
    socket.on("end", () => resume(Effect.succeed(Buffer.concat(chunks).toString("latin1"))))
    socket.write(raw)
    return Effect.sync(() => socket.destroy())
  })

/** Status code of a raw HTTP/1.1 response. */
export const rawStatus = (response: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0)

/** Deterministic pseudo-random bytes (shared with dal-client's tests). */
export { bytes } from "../../../../tooling/vitest/testData.mjs"

/** Percent-encodes a key per path segment, keeping "/" and ":" (what the fedkit client sends). */
export const enc = (key: string): string =>
  key.split("/").map((s) => encodeURIComponent(s).replace(/%3A/g, ":")).join("/")

/** The server logs every request through the Effect logger; keep test output readable. */
export const quiet = <A, E, R>(layer: Layer.Layer<A, E, R>) =>
  layer.pipe(Layer.provide(Logger.remove(Logger.defaultLogger)))
