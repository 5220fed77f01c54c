import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { readFileSync } from "node:fs"
import * as Fs from "node:fs/promises"
import * as NodeHttp from "node:http"
import * as NodeHttps from "node:https"
import { createServer as createTcpServer, type Socket } from "node:net"
import type { AddressInfo } from "node:net"
import * as NodePath from "node:path"
import * as DalClient from "../src/DalClient.js"
import * as DalSettings from "../src/DalSettings.js"
import * as DalTransport from "../src/DalTransport.js"
import { bytes, hostileServer, makeClient, quick, tempDir, TOKEN } from "./support/index.js"

const key = "s3://bkt/f/blob.bin"
const blob = bytes(3 * 1024 * 1024 + 5, 4)

describe("the download connection (real servers on loopback)", () => {
  it.scopedLive("downloads a chunked body, and reuses one kept-alive connection for many files", () =>
    Effect.gen(function*() {
      const sockets = new Set<Socket>()
      const server = yield* hostileServer((req, res) => {
        sockets.add(req.socket)
        assert.strictEqual(req.headers.authorization, `Bearer ${TOKEN}`)
        res.writeHead(200, { "content-type": "application/octet-stream" })
        // no Content-Length: node:http sends it chunked, in pieces of uneven size
        for (let at = 0; at < blob.length; at += 300_001) res.write(blob.subarray(at, at + 300_001))
        res.end()
      })
      const client = yield* makeClient(server.url, { f: key }, { maxWorkers: 1 })
      const dest = yield* tempDir
      for (let round = 0; round < 3; round++) {
        const path = NodePath.join(dest, `copy-${round}.bin`)
        yield* client.downloadFile(key, path)
        assert.isTrue(Buffer.from(blob).equals(yield* Effect.promise(() => Fs.readFile(path))))
      }
      assert.strictEqual(server.requests.length, 3)
      assert.strictEqual(sockets.size, 1, "every GET went over the same connection")
    }))

  it.scopedLive("a paused body keeps its bytes while other connections read into the shared buffer", () =>
    Effect.gen(function*() {
      const first = bytes(1024 * 1024 + 3, 5)
      const second = bytes(2 * 1024 * 1024 + 9, 6)
      const server = yield* hostileServer((req, res) => {
        const body = req.url === "/first" ? first : second
        res.writeHead(200, { "content-length": String(body.length) }).end(body)
      })
      const transport = Context.get(
        yield* Layer.build(DalTransport.layer.pipe(Layer.provide(DalTransport.layerConnectionPool))),
        DalTransport.DalTransport
      )
      const get = (path: string) =>
        transport.request({ method: "GET", url: server.url + path.slice(1), headers: {}, timeout: Duration.seconds(5) })
      /** Reads a body whole; `held` pauses it after the first chunk until `release` is called. */
      const read = (body: DalTransport.Body, held?: { release?: () => void }) =>
        Effect.async<Buffer>((resume) => {
          const chunks: Array<Uint8Array> = []
          body.attach({
            onData: (chunk) => {
              chunks.push(chunk)
              if (held === undefined || chunks.length > 1) return true
              held.release = body.resume
              return false
            },
            onEnd: (failure) =>
              resume(failure === undefined ? Effect.succeed(Buffer.concat(chunks)) : Effect.die(failure))
          })
        })
      const paused = yield* get("/first")
      const held: { release?: () => void } = {}
      const reading = yield* Effect.fork(read(paused.body, held))
      // the first body waits, its first chunk and whatever its socket had read held, while the second fills the
      // shared buffer many times over
      const other = yield* get("/second")
      assert.isTrue(Buffer.from(second).equals(yield* read(other.body)))
      held.release!()
      assert.isTrue(Buffer.from(first).equals(yield* Fiber.join(reading)))
    }))

  it.scopedLive("an exchange abandoned at once never reaches the server", () =>
    Effect.gen(function*() {
      const server = yield* hostileServer((_req, res) => void res.writeHead(200, { "content-length": "2" }).end("ok"))
      const transport = Context.get(
        yield* Layer.build(DalTransport.layer.pipe(Layer.provide(DalTransport.layerConnectionPool))),
        DalTransport.DalTransport
      )
      const request = (path: string) => ({
        method: "GET" as const,
        url: server.url + path,
        headers: {},
        timeout: Duration.seconds(5)
      })
      let answered = false
      transport.dispatch(request("abandoned"), () => void (answered = true))()
      // a later exchange goes out after it would have, and is answered
      const later = yield* transport.request(request("later"))
      later.body.destroy()
      yield* Effect.sleep("50 millis")
      assert.isFalse(answered)
      assert.deepStrictEqual(server.requests.map((r) => r.url), ["/later"])
    }))

  it.scopedLive("a kept-alive connection the server closes while idle is dropped, not reused", () =>
    Effect.gen(function*() {
      let dropped: () => void = () => {}
      const firstDropped = new Promise<void>((resolve) => (dropped = resolve))
      const server = yield* hostileServer((req, res) => {
        res.writeHead(200, { "content-length": "5" }).end("hello")
        // the server drops the connection right after answering, as one whose keep-alive timeout ran out would
        req.socket.once("close", () => dropped())
        res.on("finish", () => setTimeout(() => req.socket.destroy(), 20))
      })
      const client = yield* makeClient(server.url, { f: key }, { retries: 0 })
      const dest = yield* tempDir
      yield* client.downloadFile(key, NodePath.join(dest, "a"))
      yield* Effect.promise(() => firstDropped)
      // the client's end of a loopback connection sees the close in the next poll phase, before a setImmediate runs
      yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      yield* client.downloadFile(key, NodePath.join(dest, "b"))
      assert.strictEqual(yield* Effect.promise(() => Fs.readFile(NodePath.join(dest, "b"), "utf8")), "hello")
    }))

  it.scopedLive("a response that is not valid HTTP fails the download as a transport error and writes nothing", () =>
    Effect.gen(function*() {
      const tcp = createTcpServer((socket) => {
        socket.once("data", () => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"))
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void tcp.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => tcp.close())
      )
      const url = `http://127.0.0.1:${(tcp.address() as AddressInfo).port}/`
      const client = yield* makeClient(url, { f: key }, { retries: 1 })
      const dest = yield* tempDir
      const error = yield* client.downloadFile(key, NodePath.join(dest, "x.bin")).pipe(Effect.flip)
      assert.strictEqual(error._tag, "DalTransportError")
      assert.include(error.message, "HPE_UNEXPECTED_CONTENT_LENGTH")
      assert.notInclude(error.message, TOKEN)
      assert.deepStrictEqual(yield* Effect.promise(() => Fs.readdir(dest)), [])
    }))

  it.scopedLive("an invalid response that echoes the token is reported without it", () =>
    Effect.gen(function*() {
      const tcp = createTcpServer((socket) => {
        socket.once("data", (request) => {
          const authorization = /authorization: ([^\r]*)/i.exec(request.toString("latin1"))?.[1] ?? ""
          socket.end(`HTTP/1.1 200 OK\r\n${authorization}\r\n\r\n`)
        })
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void tcp.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => tcp.close())
      )
      const url = `http://127.0.0.1:${(tcp.address() as AddressInfo).port}/`
      const client = yield* makeClient(url, { f: key }, { retries: 0 })
      const error = yield* client.downloadFile(key, NodePath.join(yield* tempDir, "x.bin")).pipe(Effect.flip)
      assert.include(error.message, "invalid HTTP response")
      assert.notInclude(error.message, TOKEN)
    }))

  it.scopedLive("a token with a line break is refused before anything is sent", () =>
    Effect.gen(function*() {
      const server = yield* hostileServer((_req, res) => res.writeHead(200, { "content-length": "0" }).end())
      const client = yield* makeClient(server.url, { f: key }, { token: Redacted.make("a\r\nx-evil: 1") })
      const error = yield* client.downloadFile(key, NodePath.join(yield* tempDir, "x.bin")).pipe(Effect.flip)
      assert.strictEqual(error._tag, "DalTransportError")
      assert.include(error.message, "cannot send the request (ERR_INVALID_CHAR)")
      assert.deepStrictEqual(server.requests, [])
    }))
})

const fixture = (name: string) => readFileSync(new URL(`fixtures/${name}`, import.meta.url))

describe("an HTTPS DAL (node:https, CA from the ConnectionPool)", () => {
  it.scopedLive("downloads, resuming with Range after the connection breaks mid-body", () =>
    Effect.gen(function*() {
      const cert = fixture("loopback-test-only.crt")
      let requests = 0
      const server = NodeHttps.createServer({ key: fixture("loopback-test-only.key"), cert }, (req, res) => {
        requests++
        const from = Number(/bytes=(\d+)-/.exec(req.headers.range ?? "")?.[1] ?? 0)
        const headers = { "content-length": String(blob.length - from), etag: "\"v1\"" }
        if (from > 0) {
          res.writeHead(206, { ...headers, "content-range": `bytes ${from}-${blob.length - 1}/${blob.length}` })
        } else res.writeHead(200, headers)
        if (requests > 1) {
          return void res.end(blob.subarray(from))
        }
        // the first answer breaks off after a megabyte
        res.write(blob.subarray(0, 1024 * 1024), () => setTimeout(() => req.socket.destroy(), 50))
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => server.close())
      )
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`
      const pool = Layer.succeed(DalClient.ConnectionPool, {
        http: new NodeHttp.Agent({ keepAlive: true }),
        https: new NodeHttps.Agent({ keepAlive: true, ca: cert })
      })
      const client = yield* Layer.build(
        DalClient.layer.pipe(
          Layer.provide(Layer.mergeAll(
            pool,
            DalSettings.layerFromValues({ url, token: Redacted.make(TOKEN), data: { f: key }, ...quick })
          ))
        )
      ).pipe(Effect.map(Context.get(DalClient.DalClient)))
      const dest = yield* tempDir
      const result = yield* client.downloadDataset("f", dest)
      assert.strictEqual(result.resumed, 1)
      assert.strictEqual(requests, 2)
      assert.isTrue(Buffer.from(blob).equals(yield* Effect.promise(() => Fs.readFile(NodePath.join(dest, "blob.bin")))))
    }))
})
