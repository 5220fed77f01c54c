import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { DalServer } from "../src/index.js"
import { bytes, header, json, quiet, request } from "./support/http.js"

const big = bytes(512 * 1024)
const files = { "s3://data/big.bin": big, "s3://data/a.csv": "a,b\n1,2\n", "s3://data/b.txt": "text" }

/** Runs `body` against a fresh server with `faults`, on the live clock. */
const withFaults = <A, E>(
  faults: ReadonlyArray<DalServer.FaultRule>,
  body: (server: DalServer.Running) => Effect.Effect<A, E>
) => DalServer.DalServer.pipe(Effect.flatMap(body), Effect.provide(quiet(DalServer.layerTest({ files, faults }))))

const fullBody = (reply: { readonly body: Buffer }) => Buffer.from(big).equals(reply.body)

describe("fault injection", () => {
  it.live("Status answers the status with Retry-After the given number of times, then serves normally", () =>
    withFaults(
      [{ key: "s3://data/big.bin", times: 2, fault: { _tag: "Status", status: 503, retryAfter: "1" } }],
      (s) =>
        Effect.gen(function*() {
          for (let attempt = 0; attempt < 2; attempt++) {
            const reply = yield* request(s.url, "/datasets/s3://data/big.bin")
            assert.strictEqual(reply.status, 503)
            assert.strictEqual(reply.headers["retry-after"], "1")
            assert.isString((json(reply) as { error: unknown }).error)
          }
          const third = yield* request(s.url, "/datasets/s3://data/big.bin")
          assert.strictEqual(third.status, 200)
          assert.isTrue(fullBody(third))
          const entries = yield* s.requests
          assert.deepStrictEqual(entries.map((e) => [e.status, e.fault]), [[503, "Status"], [503, "Status"], [
            200,
            undefined
          ]])
        })
    ))

  it.live("rules match by method, endpoint and key regex; times: Infinity always fires", () =>
    withFaults([
      { method: "HEAD", fault: { _tag: "Status", status: 500 } },
      { endpoint: "policies", fault: { _tag: "Status", status: 502 } },
      { key: /\.csv$/, times: Infinity, fault: { _tag: "Status", status: 429, retryAfter: "0" } }
    ], (s) =>
      Effect.gen(function*() {
        for (let i = 0; i < 3; i++) {
          assert.strictEqual((yield* request(s.url, "/datasets/s3://data/a.csv")).status, 429)
        }
        assert.strictEqual((yield* request(s.url, "/datasets/s3://data/b.txt")).status, 200)
        assert.strictEqual((yield* request(s.url, "/datasets/s3://data/b.txt", { method: "HEAD" })).status, 500)
        assert.strictEqual((yield* request(s.url, "/datasets/s3://data/b.txt", { method: "HEAD" })).status, 200)
        assert.strictEqual((yield* request(s.url, "/policies/s3://data/b.txt")).status, 502)
      })))

  it.live("ResetMidBody resets the connection after at most afterBytes; a range request can resume", () =>
    withFaults(
      [{ key: "s3://data/big.bin", fault: { _tag: "ResetMidBody", afterBytes: 100_000 } }],
      (s) =>
        Effect.gen(function*() {
          const cut = yield* request(s.url, "/datasets/s3://data/big.bin")
          assert.strictEqual(cut.status, 200)
          assert.strictEqual(cut.headers["content-length"], String(big.length))
          assert.isDefined(cut.error)
          assert.isAtMost(cut.body.length, 100_000)
          assert.isTrue(Buffer.from(big.subarray(0, cut.body.length)).equals(cut.body))
          const rest = yield* request(s.url, "/datasets/s3://data/big.bin", {
            headers: { range: `bytes=${cut.body.length}-`, "if-range": cut.headers.etag! }
          })
          assert.strictEqual(rest.status, 206)
          assert.isTrue(fullBody({ body: Buffer.concat([cut.body, rest.body]) }))
          const entries = yield* s.requests
          assert.deepInclude(entries[0], { fault: "ResetMidBody", outcome: "aborted", bytes: 100_000 })
          assert.deepInclude(entries[1], { range: `bytes=${cut.body.length}-`, outcome: "complete" })
        })
    ))

  it.live("TruncateBody sends fewer bytes than Content-Length, then closes cleanly", () =>
    withFaults(
      [{ key: "s3://data/big.bin", times: 1, fault: { _tag: "TruncateBody", afterBytes: 5000 } }],
      (s) =>
        Effect.gen(function*() {
          const short = yield* request(s.url, "/datasets/s3://data/big.bin")
          assert.strictEqual(short.headers["content-length"], String(big.length))
          assert.strictEqual(short.body.length, 5000)
          assert.isDefined(short.error)
          assert.isTrue(Buffer.from(big.subarray(0, 5000)).equals(short.body))
          assert.isTrue(fullBody(yield* request(s.url, "/datasets/s3://data/big.bin")))
        })
    ))

  it.live("body faults apply to listings too, and are not used up by responses without a body", () =>
    withFaults([{ key: "s3://data/", fault: { _tag: "TruncateBody", afterBytes: 10 } }], (s) =>
      Effect.gen(function*() {
        assert.strictEqual((yield* request(s.url, "/datasets/s3://data/missing.bin")).status, 404)
        assert.strictEqual((yield* request(s.url, "/datasets/s3://data/", { method: "HEAD" })).status, 200)
        const listing = yield* request(s.url, "/datasets/s3://data/")
        assert.strictEqual(listing.body.toString(), "[\"s3://dat")
        assert.isDefined(listing.error)
        const again = yield* request(s.url, "/datasets/s3://data/")
        assert.deepStrictEqual(json(again), ["s3://data/a.csv", "s3://data/b.txt", "s3://data/big.bin"])
      })))

  it.live("StallHeaders holds the response back: a client with a shorter idle timeout gives up", () =>
    withFaults(
      [{ key: "s3://data/b.txt", fault: { _tag: "StallHeaders", millis: 60_000 } }],
      (s) =>
        Effect.gen(function*() {
          const stalled = yield* Effect.either(request(s.url, "/datasets/s3://data/b.txt", { idleTimeoutMillis: 300 }))
          assert.isTrue(stalled._tag === "Left")
          // the stalled exchange ends when its client leaves, and the fault is used up
          const next = yield* request(s.url, "/datasets/s3://data/b.txt", { idleTimeoutMillis: 10_000 })
          assert.strictEqual(next.body.toString(), "text")
          const entries = yield* s.requests
          assert.deepInclude(entries.find((e) => e.fault === "StallHeaders"), { outcome: "aborted" })
        })
    ))

  it.live("StallBody pauses after afterBytes, then sends the rest", () =>
    withFaults([
      { key: "s3://data/big.bin", times: 1, fault: { _tag: "StallBody", afterBytes: 1000, millis: 60_000 } },
      { key: "s3://data/big.bin", times: 1, fault: { _tag: "StallBody", afterBytes: 1000, millis: 50 } }
    ], (s) =>
      Effect.gen(function*() {
        const stalled = yield* request(s.url, "/datasets/s3://data/big.bin", { idleTimeoutMillis: 300 })
        assert.strictEqual(stalled.body.length, 1000)
        assert.isDefined(stalled.error)
        const resumed = yield* request(s.url, "/datasets/s3://data/big.bin", { idleTimeoutMillis: 10_000 })
        assert.isUndefined(resumed.error)
        assert.isTrue(fullBody(resumed))
        const faults = (yield* s.requests).map((e) => e.fault)
        assert.deepStrictEqual(faults, ["StallBody", "StallBody"])
      })))

  it.live("faults apply to uploads, keyed by <name>/<file>", () =>
    withFaults(
      [{ method: "PUT", key: "results/", fault: { _tag: "Status", status: 503 } }],
      (s) =>
        Effect.gen(function*() {
          const body = new TextEncoder().encode("x")
          assert.strictEqual((yield* request(s.url, "/dataset/results/a.txt", { method: "PUT", body })).status, 503)
          assert.strictEqual((yield* request(s.url, "/dataset/results/a.txt", { method: "PUT", body })).status, 201)
          assert.strictEqual(
            header(yield* request(s.url, "/datasets/s3://derived/results/a.txt"), "content-length"),
            "1"
          )
        })
    ))

  it.live("latencyMillis delays every answer, errors included, by at least that long", () =>
    DalServer.DalServer.pipe(
      Effect.flatMap((s) =>
        Effect.gen(function*() {
          for (const target of ["/datasets/s3://data/b.txt", "/datasets/s3://data/missing", "/nowhere"]) {
            const started = performance.now()
            const reply = yield* request(s.url, target)
            assert.isAtLeast(performance.now() - started, 250, `${target} answered ${reply.status} too early`)
          }
        })
      ),
      Effect.provide(quiet(DalServer.layerTest({ files, latencyMillis: 250 })))
    ))
})
