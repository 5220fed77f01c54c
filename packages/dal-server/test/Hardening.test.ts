/** A hostile client's tries: stalled headers, unread bodies, transfer floods, huge uploads, long names, bad cursors. */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as fs from "node:fs/promises"
import { connect, type Socket } from "node:net"
import * as path from "node:path"
import { DalServer } from "../src/index.js"
import { buffersLent } from "../src/internal/sendFile.js"
import { enc, header, json, quiet, rawRequest, rawStatus, request } from "./support/http.js"

// more than loopback socket buffers take in, so a client that never reads leaves the server with bytes to send
const huge = new Uint8Array(48 * 1024 * 1024)
const files = { "s3://data/huge.bin": huge, "s3://data/a.csv": "a", "s3://data/b.csv": "b", "s3://data/c.csv": "c" }

const withServer = <A, E, R>(
  options: Omit<Parameters<typeof DalServer.layerTest>[0], "files">,
  body: (server: DalServer.Running) => Effect.Effect<A, E, R>
) => DalServer.DalServer.pipe(Effect.flatMap(body), Effect.provide(quiet(DalServer.layerTest({ files, ...options }))))

/** Polls (live clock) for up to ~10 s until `check` holds. */
const eventually = <A, E>(effect: Effect.Effect<A, E>, check: (a: A) => boolean) =>
  effect.pipe(
    Effect.filterOrFail(check, () => "not yet" as const),
    Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 200 }),
    Effect.orDie
  )

/**
 * A raw connection that sends `raw`, reads `readFirst` bytes of the answer, and then never reads again: its receive
 * buffer fills and the server must hold off.
 */
const stuckClient = (base: string, raw: string, readFirst = 0) =>
  Effect.acquireRelease(
    Effect.async<{ readonly socket: Socket; readonly closed: () => boolean }>((resume) => {
      const url = new URL(base)
      let closed = false
      let read = 0
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(raw)
        if (readFirst === 0) {
          socket.pause()
          resume(Effect.succeed({ socket, closed: () => closed }))
        }
      })
      socket.on("data", (chunk) => {
        read += chunk.length
        if (read >= readFirst && !socket.isPaused()) {
          socket.pause()
          resume(Effect.succeed({ socket, closed: () => closed }))
        }
      })
      socket.on("close", () => (closed = true))
      socket.on("error", () => {})
    }),
    ({ socket }) => Effect.sync(() => socket.destroy())
  )

const getHuge = "GET /datasets/s3://data/huge.bin HTTP/1.1\r\nHost: x\r\n\r\n"

describe("timeouts", () => {
  it.scopedLive("a connection that sends half a header is closed after the header timeout", () =>
    withServer({ headersTimeoutMillis: 300 }, (s) =>
      Effect.gen(function*() {
        const client = yield* stuckClient(s.url, "GET /datasets/s3://data/a.csv HTTP/1.1\r\nHost: x\r\nX-Half: ab")
        client.socket.resume()
        yield* eventually(Effect.sync(client.closed), (closed) => closed)
        // the server goes on serving
        assert.strictEqual((yield* request(s.url, "/datasets/s3://data/a.csv")).body.toString(), "a")
      })))

  it.scopedLive("a client that stops reading a download is dropped after the idle timeout and logged aborted", () =>
    withServer({ idleTimeoutMillis: 300 }, (s) =>
      Effect.gen(function*() {
        yield* stuckClient(s.url, getHuge)
        const entries = yield* eventually(s.requests, (all) => all.some((e) => e.key === "s3://data/huge.bin"))
        const entry = entries.find((e) => e.key === "s3://data/huge.bin")
        assert.deepInclude(entry, { status: 200, outcome: "aborted" })
        assert.isBelow(entry!.bytes, huge.length)
      })))
})

describe("memory per slow client", () => {
  it.scopedLive("a download whose client stopped reading holds one read buffer, and none once dropped", () =>
    withServer({ idleTimeoutMillis: 1500 }, (s) =>
      Effect.gen(function*() {
        const before = buffersLent()
        // it reads at first, so the server reads ahead into a second buffer while the socket keeps up
        yield* stuckClient(s.url, getHuge, 16 * 1024 * 1024)
        // the socket fills up, then the transfer waits with the one chunk the socket has not taken
        yield* eventually(Effect.sync(buffersLent), (lent) => lent === before + 1)
        yield* Effect.sleep("300 millis")
        assert.strictEqual(buffersLent(), before + 1)
        yield* eventually(s.requests, (all) => all.some((e) => e.key === "s3://data/huge.bin"))
        yield* eventually(Effect.sync(buffersLent), (lent) => lent === before)
      })))
})

describe("transfer cap", () => {
  it.scopedLive("past maxTransfers, file downloads get 503 with Retry-After; listings still work; a freed slot serves", () =>
    withServer({ maxTransfers: 1 }, (s) =>
      Effect.gen(function*() {
        const first = yield* stuckClient(s.url, getHuge)
        const refused = yield* eventually(request(s.url, "/datasets/s3://data/a.csv"), (r) => r.status === 503)
        assert.strictEqual(refused.headers["retry-after"], "1")
        assert.include((json(refused) as { error: string }).error, "1 file transfers")
        assert.strictEqual((yield* request(s.url, "/datasets/s3://data/")).status, 200)
        first.socket.destroy()
        const served = yield* eventually(request(s.url, "/datasets/s3://data/a.csv"), (r) => r.status === 200)
        assert.strictEqual(served.body.toString(), "a")
      })))
})

describe("limits", () => {
  it.scopedLive("an upload over maxUploadBytes is 413, announced or streamed, and leaves no file", () =>
    withServer({ maxUploadBytes: 1000 }, (s) =>
      Effect.gen(function*() {
        const announced = yield* rawRequest(
          s.url,
          `PUT /dataset/big/x.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\nConnection: close\r\n\r\n${
            "x".repeat(1001)
          }`
        )
        assert.strictEqual(rawStatus(announced), 413)
        assert.include(announced, "1000 bytes")
        const chunk = "x".repeat(600)
        const chunked = yield* rawRequest(
          s.url,
          `PUT /dataset/big/y.bin HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n` +
            `258\r\n${chunk}\r\n258\r\n${chunk}\r\n0\r\n\r\n`
        )
        assert.strictEqual(rawStatus(chunked), 413)
        const left = yield* Effect.promise(() => fs.readdir(path.join(s.root, "derived", "big")).catch(() => []))
        assert.deepStrictEqual(left, [])
        const fits = yield* request(s.url, "/dataset/big/z.bin", { method: "PUT", body: new Uint8Array(1000) })
        assert.strictEqual(fits.status, 201)
      })))

  it.scopedLive("a name longer than the file system allows is 400 naming the limit, for keys and uploads", () =>
    withServer({}, (s) =>
      Effect.gen(function*() {
        const long = "n".repeat(256)
        for (
          const [method, target] of [
            ["PUT", `/dataset/names/${long}.txt`],
            ["GET", `/datasets/s3://data/${long}`],
            ["PUT", `/dataset/names/${Array.from({ length: 20 }, () => "d".repeat(250)).join("/")}/f.txt`]
          ] as const
        ) {
          const reply = yield* request(s.url, target, { method, body: new Uint8Array(1) })
          assert.strictEqual(reply.status, 400, target.slice(0, 40))
          assert.match((json(reply) as { error: string }).error, /255 bytes|4096 bytes/)
        }
      })))

  it.scopedLive("an invalid listing cursor is 400; the cursor of a Link is accepted", () =>
    withServer({ pageSize: 1 }, (s) =>
      Effect.gen(function*() {
        const first = yield* request(s.url, "/datasets/s3://data/")
        const link = header(first, "link") ?? ""
        assert.strictEqual((yield* request(s.url, `/datasets/${link}`)).status, 200)
        const foreign = Buffer.from("s3://elsewhere/x", "utf8").toString("base64url")
        for (const cursor of ["%%%", "not.base64", foreign, "AAAA", "QQ", ""]) {
          const reply = yield* request(s.url, `/datasets/${enc("s3://data/")}?cursor=${cursor}`)
          assert.strictEqual(reply.status, 400, cursor)
          assert.include((json(reply) as { error: string }).error, "cursor")
        }
      })))
})
