/**
 * A DAL that speaks bad HTTP on purpose, from a raw socket: every response here is one no HTTP library would send.
 * Whatever it sends, the client must end (no hang), write nothing at a final path it cannot vouch for, leave no
 * temporary file behind, and never show the token.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import { gzipSync } from "node:zlib"
import { assertNoTokenPart, filesBelow, makeClient, rawServer, tempDir } from "./support/index.js"

const key = "s3://h/f/file.bin"
const data = { f: key }

/** A download of `key` from a server answering every request with `wire` (written at once, then left open). */
const downloadFrom = (wire: string | Buffer, overrides: Parameters<typeof makeClient>[2] = {}) =>
  Effect.gen(function*() {
    const server = yield* rawServer((socket) => void socket.write(wire))
    const client = yield* makeClient(server.url, data, { retries: 1, ...overrides })
    const dest = yield* tempDir
    const outcome = yield* client.downloadDataset("f", dest).pipe(Effect.either)
    return { outcome, dest, server }
  })

describe("responses a DAL must never send (raw socket)", () => {
  it.scopedLive(
    "a small response followed by stray bytes in the same read neither hangs nor leaks into the next",
    () =>
      Effect.gen(function*() {
        for (const extra of ["\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL"]) {
          // the n-th answer carries "r<n>": any answer built from the extra bytes would show up as EVIL or be short
          const server = yield* rawServer((socket, _head, n) =>
            void socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nr${n}${extra}`)
          )
          const client = yield* makeClient(server.url, data, { maxWorkers: 1, retries: 0 })
          const dest = yield* tempDir
          for (const name of ["a", "b", "c"]) yield* client.downloadFile(key, NodePath.join(dest, name))
          const contents = yield* Effect.promise(() =>
            Promise.all(["a", "b", "c"].map((name) => Fs.readFile(NodePath.join(dest, name), "utf8")))
          )
          assert.deepStrictEqual(contents.map((c) => c.length), [2, 2, 2], JSON.stringify(extra))
          assert.isFalse(contents.includes("EV"))
        }
      }),
    20_000
  )

  it.scopedLive("a body framed by the end of the connection is refused, whether it ends cleanly or by a reset", () =>
    Effect.gen(function*() {
      for (const close of ["end", "reset"] as const) {
        const server = yield* rawServer((socket) => {
          socket.write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\npart of a fi")
          setTimeout(() => (close === "end" ? socket.end() : socket.resetAndDestroy()), 20)
        })
        const client = yield* makeClient(server.url, data, { retries: 1 })
        const dest = yield* tempDir
        const error = yield* client.downloadDataset("f", dest).pipe(Effect.flip)
        assert.strictEqual(error._tag, "DalIntegrityError")
        assert.include(error.message, "a body without Content-Length or chunked framing")
        assert.deepStrictEqual(yield* filesBelow(dest), [], "nothing at the final path, no temporary file")
      }
    }))

  it.scopedLive("a chunked body cut by a reset is retried, then fails without a file or a temporary file", () =>
    Effect.gen(function*() {
      const server = yield* rawServer((socket) => {
        socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        setTimeout(() => socket.resetAndDestroy(), 20)
      })
      const client = yield* makeClient(server.url, data, { retries: 1 })
      const dest = yield* tempDir
      const error = yield* client.downloadDataset("f", dest).pipe(Effect.flip)
      assert.strictEqual(error._tag, "DalTransportError")
      assert.include(error.message, "connection lost during the body")
      assert.include(error.message, "after 2 attempts")
      assert.strictEqual(server.heads.length, 2)
      assert.deepStrictEqual(yield* filesBelow(dest), [])
    }))

  it.scopedLive("compressed bodies are refused, never stored as the file", () =>
    Effect.gen(function*() {
      const gzipped = gzipSync(Buffer.from("the file's real bytes"))
      const wires = [
        Buffer.concat([
          Buffer.from(`HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${gzipped.length}\r\n\r\n`),
          gzipped
        ]),
        Buffer.concat([
          Buffer.from(`HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n${gzipped.length.toString(16)}\r\n`),
          gzipped,
          Buffer.from("\r\n0\r\n\r\n")
        ]),
        Buffer.concat([Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), gzipped])
      ]
      for (const wire of wires) {
        const { dest, outcome } = yield* downloadFrom(wire)
        assert.strictEqual(outcome._tag, "Left")
        const error = outcome._tag === "Left" ? outcome.left : undefined
        assert.strictEqual(error?._tag, "DalIntegrityError", wire.toString("latin1", 0, 60))
        assert.match(error?.message ?? "", /unsupported (Content|Transfer)-Encoding/)
        assert.deepStrictEqual(yield* filesBelow(dest), [])
      }
    }))

  it.scopedLive(
    "malformed framing that lax parsers accept is refused, and nothing is written",
    () =>
      Effect.gen(function*() {
        const wires: ReadonlyArray<readonly [string, string]> = [
          ["folded header", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: a\r\n b\r\n\r\nok"],
          ["bare LF", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"],
          [
            "duplicate Transfer-Encoding",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
          ],
          [
            "Content-Length with Transfer-Encoding",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
          ],
          ["conflicting Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!"],
          ["negative Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"],
          ["bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n"],
          ["chunk without CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\n0\n\n"],
          ["not HTTP", "SSH-2.0-OpenSSH_9.2\r\n\r\n"]
        ]
        for (const [what, wire] of wires) {
          const { dest, outcome } = yield* downloadFrom(wire)
          assert.strictEqual(outcome._tag, "Left", what)
          const error = outcome._tag === "Left" ? outcome.left : undefined
          assert.include(["DalTransportError", "DalIntegrityError"], error?._tag, what)
          assert.notInclude(error?.message ?? "", "\n")
          assert.deepStrictEqual(yield* filesBelow(dest), [], what)
        }
      }),
    30_000
  )

  it.scopedLive("a server dripping its headers byte by byte is timed out as a whole", () =>
    Effect.gen(function*() {
      const server = yield* rawServer((socket) => {
        socket.write("HTTP/1.1 200 OK\r\n")
        const drip = setInterval(() => socket.destroyed ? clearInterval(drip) : socket.write("x"), 50)
        socket.once("close", () => clearInterval(drip))
      })
      const client = yield* makeClient(server.url, data, { retries: 0, timeout: "400 millis" })
      const started = Date.now()
      const error = yield* client.downloadDataset("f", yield* tempDir).pipe(Effect.flip)
      assert.include(error.message, "no response headers within 400ms")
      assert.isBelow(Date.now() - started, 5_000)
    }))

  it.scopedLive("a dripping body is cut by the minimum rate, and the whole operation by the deadline", () =>
    Effect.gen(function*() {
      const server = yield* rawServer((socket) => {
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nETag: \"v1\"\r\n\r\n")
        const drip = setInterval(() => socket.destroyed ? clearInterval(drip) : socket.write("x"), 20)
        socket.once("close", () => clearInterval(drip))
      })
      const slow = yield* makeClient(server.url, data, { retries: 0, timeout: "300 millis", minRate: 1000 })
      const dest = yield* tempDir
      const cut = yield* slow.downloadDataset("f", dest).pipe(Effect.flip)
      assert.strictEqual(cut._tag, "DalTransportError")
      assert.include(cut.message, "below the minimum of 1000")
      assert.deepStrictEqual(yield* filesBelow(dest), [])

      const bounded = yield* makeClient(server.url, data, { timeout: "300 millis", deadline: "700 millis" })
      const late = yield* bounded.downloadDataset("f", dest).pipe(Effect.flip)
      assert.strictEqual(late._tag, "DalTransportError")
      assert.strictEqual(
        late.message,
        "download of dataset \"f\": not finished within the deadline of 700ms; raise APH_DEADLINE (or --deadline), or check the DAL's speed"
      )
      assert.deepStrictEqual(yield* filesBelow(dest), [])
    }))

  it.scopedLive("redirects are not followed (the token would go wherever they point)", () =>
    Effect.gen(function*() {
      const elsewhere = yield* rawServer((socket) => void socket.end("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
      const { dest, outcome } = yield* downloadFrom(
        `HTTP/1.1 302 Found\r\nLocation: ${elsewhere.url}datasets/${key}\r\nContent-Length: 0\r\n\r\n`
      )
      const error = outcome._tag === "Left" ? outcome.left : undefined
      assert.strictEqual(error?._tag, "DalStatusError")
      assert.include(error?.message, "HTTP 302")
      assert.deepStrictEqual(elsewhere.heads, [])
      assert.deepStrictEqual(yield* filesBelow(dest), [])
    }))

  it.scopedLive("texts the server sends are scrubbed of the token before they are cut", () =>
    Effect.gen(function*() {
      const server = yield* rawServer((socket, head) => {
        const token = /authorization: Bearer (.*)/i.exec(head)?.[1] ?? ""
        // the token straddles the 200-character cut, and its pieces are repeated alone
        const body = `${"x".repeat(180)}${token} ${token.slice(0, 12)} ${token.slice(-10)}`
        socket.write(`HTTP/1.1 500 ${token}\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
      })
      const client = yield* makeClient(server.url, data, { retries: 0 })
      const error = yield* client.downloadDataset("f", yield* tempDir).pipe(Effect.flip)
      assert.strictEqual(error._tag, "DalStatusError")
      assert.include(error.message, "<redacted>")
      assertNoTokenPart(error.message, "the error")
      assertNoTokenPart(JSON.stringify(error), "the error's fields")
    }))
})
