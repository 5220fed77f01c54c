import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import { bytes, makeClient, startServer, tempDir, TOKEN } from "./support/index.js"
import type { ServerOptions } from "./support/index.js"

const blob = bytes(1_000_000, 9)
const key = "s3://bkt/f/blob.bin"
const data = { f: key, dir: "s3://bkt/f/" }

const withFaults = (faults: ServerOptions["faults"], more: Partial<ServerOptions> = {}) =>
  startServer({ files: { [key]: blob }, ...(faults === undefined ? {} : { faults }), ...more })

const downloaded = (path: string) => Effect.promise(() => Fs.readFile(path)).pipe(Effect.map((b) => new Uint8Array(b)))

describe("retries and timeouts (live clock, real faults)", () => {
  it.scopedLive("retries 503 until it clears", () =>
    Effect.gen(function*() {
      const server = yield* withFaults([{ key, times: 2, fault: { _tag: "Status", status: 503 } }])
      const client = yield* makeClient(server.url, data)
      const dest = yield* tempDir
      yield* client.downloadDataset("f", dest)
      assert.deepStrictEqual((yield* server.requests).map((r) => r.status), [503, 503, 200])
      assert.deepStrictEqual(yield* downloaded(NodePath.join(dest, "blob.bin")), blob)
    }))

  it.scopedLive("honours Retry-After on 429, even above the backoff ceiling", () =>
    Effect.gen(function*() {
      const server = yield* withFaults([{ key, fault: { _tag: "Status", status: 429, retryAfter: "1" } }])
      const client = yield* makeClient(server.url, data, { retryMaxDelay: "20 millis" })
      yield* client.downloadDataset("f", yield* tempDir)
      const [first, second] = yield* server.requests
      assert.strictEqual(first?.status, 429)
      assert.strictEqual(second?.status, 200)
      const waited = Date.parse(second!.time) - Date.parse(first!.time)
      assert.isAtLeast(waited, 950, "the retry came no sooner than Retry-After allowed")
    }))

  it.scopedLive("does not retry other 4xx", () =>
    Effect.gen(function*() {
      const server = yield* withFaults([{ key, fault: { _tag: "Status", status: 400 } }])
      const client = yield* makeClient(server.url, data)
      const error = yield* client.downloadDataset("f", yield* tempDir).pipe(Effect.flip)
      assert.strictEqual(error._tag, "DalStatusError")
      assert.strictEqual(
        error.message,
        "download of dataset \"f\", key \"s3://bkt/f/blob.bin\": the DAL answered HTTP 400: \"{\\\"error\\\":\\\"injected fault: status 400\\\"}\""
      )
      assert.strictEqual((yield* server.requests).length, 1)
    }))

  it.scopedLive("gives up after the configured retries, saying how often it tried", () =>
    Effect.gen(function*() {
      const server = yield* withFaults([{ key, times: Infinity, fault: { _tag: "Status", status: 502 } }])
      const client = yield* makeClient(server.url, data, { retries: 3 })
      const error = yield* client.downloadDataset("f", yield* tempDir).pipe(Effect.flip)
      assert.strictEqual(error._tag, "DalStatusError")
      assert.include(error.message, "HTTP 502 after 4 attempts")
      assert.notInclude(error.message, TOKEN)
      assert.strictEqual((yield* server.requests).length, 4)
    }))

  it.scopedLive("resumes with Range after a connection reset mid-body", () =>
    Effect.gen(function*() {
      const server = yield* withFaults([{ key, fault: { _tag: "ResetMidBody", afterBytes: 400_000 } }])
      const client = yield* makeClient(server.url, data)
      const dest = yield* tempDir
      const result = yield* client.downloadDataset("f", dest)
      assert.strictEqual(result.resumed, 1)
      const [cut, resumed] = yield* server.requests
      assert.strictEqual(cut?.fault, "ResetMidBody")
      assert.strictEqual(resumed?.status, 206)
      assert.match(resumed?.range ?? "", /^bytes=\d+-$/)
      assert.isAbove(Number(/\d+/.exec(resumed!.range!)![0]), 0)
      assert.deepStrictEqual(yield* downloaded(NodePath.join(dest, "blob.bin")), blob)
    }))

  it.scopedLive("a byte stream resumes too, delivering every byte exactly once", () =>
    Effect.gen(function*() {
      const server = yield* withFaults([
        { key, fault: { _tag: "ResetMidBody", afterBytes: 123_457 } },
        { key, fault: { _tag: "StallBody", afterBytes: 100, millis: 3_000 } }
      ])
      const client = yield* makeClient(server.url, data, { timeout: "500 millis" })
      const chunks = yield* client.stream(key).pipe(Stream.runCollect)
      assert.deepStrictEqual(new Uint8Array(Buffer.concat(Chunk.toArray(chunks))), blob)
      const log = yield* server.requests
      assert.deepStrictEqual(log.map((r) => r.fault), ["ResetMidBody", "StallBody", undefined])
      assert.isTrue(log.slice(1).every((r) => r.status === 206 && r.range !== undefined))
    }))

  it.scopedLive("resumes after a body that ends short of Content-Length, and never renames a short file", () =>
    Effect.gen(function*() {
      const server = yield* withFaults([{ key, times: 2, fault: { _tag: "TruncateBody", afterBytes: 300_000 } }])
      const client = yield* makeClient(server.url, data)
      const dest = yield* tempDir
      yield* client.downloadDataset("f", dest)
      const log = yield* server.requests
      assert.deepStrictEqual(log.map((r) => r.fault), ["TruncateBody", "TruncateBody", undefined])
      assert.strictEqual(log[2]?.status, 206)
      assert.deepStrictEqual(yield* downloaded(NodePath.join(dest, "blob.bin")), blob)

      const always = yield* withFaults([{ key, times: Infinity, fault: { _tag: "TruncateBody", afterBytes: 0 } }])
      const stuck = yield* makeClient(always.url, data, { retries: 2 })
      const dest2 = yield* tempDir
      const error = yield* stuck.downloadDataset("f", dest2).pipe(Effect.flip)
      assert.strictEqual(error._tag, "DalTransportError")
      assert.include(error.message, "connection lost during the body")
      assert.include(error.message, "after 3 attempts")
      assert.isFalse(
        yield* Effect.promise(() => Fs.access(NodePath.join(dest2, "blob.bin")).then(() => true, () => false))
      )
    }))

  it.scopedLive("times out stalled headers and retries", () =>
    Effect.gen(function*() {
      const server = yield* withFaults([{ key, fault: { _tag: "StallHeaders", millis: 3_000 } }])
      const client = yield* makeClient(server.url, data, { timeout: "400 millis" })
      const dest = yield* tempDir
      yield* client.downloadDataset("f", dest)
      assert.deepStrictEqual(yield* downloaded(NodePath.join(dest, "blob.bin")), blob)
      const gets = (yield* server.requests).filter((r) => r.method === "GET")
      assert.strictEqual(gets.length, 2)
      assert.strictEqual(gets.find((r) => r.fault === "StallHeaders")?.outcome, "aborted")

      const always = yield* withFaults([
        { key: "s3://bkt/f/", times: Infinity, fault: { _tag: "StallHeaders", millis: 3_000 } }
      ])
      const stuck = yield* makeClient(always.url, data, { timeout: "300 millis", retries: 1 })
      const error = yield* stuck.list("s3://bkt/f/").pipe(Effect.flip)
      assert.strictEqual(
        error.message,
        "list of key \"s3://bkt/f/\": no response headers within 300ms after 2 attempts; check APH_API_DAL_URL and the network, or raise APH_TIMEOUT"
      )
    }))

  it.scopedLive("an idle body times out and resumes, while a slow but moving one does not", () =>
    Effect.gen(function*() {
      const server = yield* withFaults([{ key, fault: { _tag: "StallBody", afterBytes: 250_000, millis: 3_000 } }])
      const client = yield* makeClient(server.url, data, { timeout: "500 millis" })
      const dest = yield* tempDir
      const result = yield* client.downloadDataset("f", dest)
      assert.strictEqual(result.resumed, 1)
      const gets = (yield* server.requests).filter((r) => r.method === "GET")
      assert.deepStrictEqual(gets.map((r) => r.status), [200, 206])
      assert.deepStrictEqual(yield* downloaded(NodePath.join(dest, "blob.bin")), blob)

      // Pauses shorter than the timeout, again and again: the transfer outlasts the timeout several times over.
      const slow = yield* withFaults(
        [100_000, 300_000, 500_000, 700_000].map((afterBytes) => ({
          key,
          fault: { _tag: "StallBody" as const, afterBytes, millis: 300 }
        }))
      )
      const patient = yield* makeClient(slow.url, data, { timeout: "700 millis" })
      const dest2 = yield* tempDir
      yield* patient.downloadDataset("f", dest2)
      assert.deepStrictEqual((yield* slow.requests).map((r) => r.status), [200])
      assert.deepStrictEqual(yield* downloaded(NodePath.join(dest2, "blob.bin")), blob)
    }))

  it.scopedLive("a consumer holding the body back for longer than the timeout is not timed out", () =>
    Effect.gen(function*() {
      const server = yield* withFaults(undefined)
      const client = yield* makeClient(server.url, data, { timeout: "300 millis" })
      let held = false
      const chunks = yield* client.stream(key).pipe(
        Stream.tap(() => held ? Effect.void : Effect.sleep("1 second").pipe(Effect.tap(() => held = true))),
        Stream.runCollect
      )
      assert.deepStrictEqual(new Uint8Array(Buffer.concat(Chunk.toArray(chunks))), blob)
      assert.deepStrictEqual((yield* server.requests).map((r) => r.status), [200])
    }))

  it.scopedLive("listing pages, HEAD checks and uploads are retried too", () =>
    Effect.gen(function*() {
      const server = yield* withFaults([
        { method: "GET", key: "s3://bkt/f/", times: 1, fault: { _tag: "Status", status: 503 } },
        { method: "HEAD", times: 1, fault: { _tag: "Status", status: 500 } },
        { method: "PUT", times: 1, fault: { _tag: "Status", status: 503, retryAfter: "0" } }
      ])
      const client = yield* makeClient(server.url, data)
      const dest = yield* tempDir
      yield* client.downloadDataset("dir", dest)
      const again = yield* client.downloadDataset("dir", dest)
      assert.strictEqual(again.skipped, 1)
      yield* client.putDerived("out", "x.bin", bytes(10))
      const statuses = (yield* server.requests).map((r) => `${r.method} ${r.status}`)
      assert.deepStrictEqual(statuses, [
        "GET 503",
        "GET 200",
        "GET 200",
        "GET 200",
        "HEAD 500",
        "HEAD 200",
        "PUT 503",
        "PUT 201"
      ])
    }))
})
