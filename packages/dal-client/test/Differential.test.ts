/**
 * The transport against Node's own HTTP parser (llhttp, through a plain `http.get`): the same response bytes, the
 * transport's copy split in two writes at every position. Both must agree on every response, except where the
 * transport's documented refusals (`DalTransport.refusal`, judged on what Node parsed) apply.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as NodeHttp from "node:http"
import * as DalTransport from "../src/DalTransport.js"
import { rawServer } from "./support/index.js"

const wires: ReadonlyArray<string> = [
  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 11\r\nETag: \"x\"\r\n\r\nhello world",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n",
  "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 3-5/9\r\nContent-Length: 3\r\n\r\nabc",
  "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found",
  "HTTP/1.1 204 No Content\r\n\r\n",
  "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nshort of its length",
  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: a\r\n b\r\n\r\nok",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\nzz\r\n",
  "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\n\x1f\x8b\x08\x00",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
  "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end"
]

/** How a response ended, comparably: its status and body, refused by policy, or an error. */
type Outcome = string

/** Node's parser on the whole wire. */
const reference = (url: string): Promise<Outcome> =>
  new Promise((resolve) => {
    const req = NodeHttp.get(url, { agent: false }, (res) => {
      const headers = DalTransport.flatHeaders(res.headers)
      const refused = DalTransport.refusal("GET", res.statusCode ?? 0, res.rawHeaders, headers)
      if (refused !== undefined) {
        res.destroy()
        return resolve("refused")
      }
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("end", () => resolve(res.complete ? `${res.statusCode} ${Buffer.concat(chunks).toString()}` : "error"))
      res.on("error", () => resolve("error"))
    })
    req.on("error", () => resolve("error"))
  })

const viaTransport = (transport: DalTransport.DalTransportService, url: string): Effect.Effect<Outcome> =>
  Effect.scoped(
    Effect.flatMap(
      transport.request({ method: "GET", url, headers: {}, timeout: Duration.seconds(2) }),
      (response) =>
        Effect.async<Outcome>((resume) => {
          const chunks: Array<Uint8Array> = []
          response.body.attach({
            onData: (chunk) => {
              chunks.push(Uint8Array.prototype.slice.call(chunk))
              return true
            },
            onEnd: (failure) =>
              resume(
                Effect.succeed(
                  failure === undefined ? `${response.status} ${Buffer.concat(chunks).toString()}` : "error"
                )
              )
          })
        })
    )
  ).pipe(
    Effect.catchAll((failure) => Effect.succeed(failure.kind === "refused" ? "refused" : "error"))
  )

describe("the transport agrees with Node's parser", () => {
  it.scopedLive("on every response, split at every position", () =>
    Effect.gen(function*() {
      const transport = yield* Layer.build(DalTransport.layer.pipe(Layer.provide(DalTransport.layerConnectionPool)))
        .pipe(Effect.map(Context.get(DalTransport.DalTransport)))
      for (const wire of wires) {
        const bytes = Buffer.from(wire, "latin1")
        let split = 0
        const server = yield* rawServer((socket) => {
          const at = split
          if (at === 0) return void socket.end(bytes)
          socket.write(bytes.subarray(0, at))
          setTimeout(() => socket.end(bytes.subarray(at)), 2)
        })
        const expected = yield* Effect.promise(() => reference(server.url))
        for (split = 1; split < bytes.length; split++) {
          const got = yield* viaTransport(transport, server.url)
          assert.strictEqual(got, expected, `${JSON.stringify(wire.slice(0, 50))} split at ${split}`)
        }
      }
    }), 60_000)
})
