import { assert, describe, it } from "@effect/vitest"
import { HostileCorpus } from "@fedkit/runtime-core/testing"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { connect } from "node:net"
import { join } from "node:path"
import { fixture, VALID } from "./support/fixtures.js"
import { get, post, raw, startServer } from "./support/server.js"

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
type ErrorBody = { readonly error: string; readonly errors?: ReadonlyArray<{ path: string; message: string }> }

describe("HTTP API", () => {
  it.scopedLive("POST /v1/jobs renders a job under a server-generated id; GET reads it back", () =>
    Effect.gen(function*() {
      const server = yield* startServer()
      const created = yield* post(server.url, JSON.stringify({ ...VALID, run_name: "../../etc/passwd" }))
      assert.strictEqual(created.status, 201)
      const view = created.json as { jobId: string; digest: string; files: Array<string>; status: string }
      assert.match(view.jobId, UUID)
      assert.match(view.digest, /^sha256:[0-9a-f]{64}$/)
      assert.deepStrictEqual(view.files, [
        "app/config/config_fed_client.json",
        "app/config/config_fed_server.json",
        "app/custom/client.py",
        "meta.json"
      ])
      assert.strictEqual(created.headers["location"], `/v1/jobs/${view.jobId}`)
      assert.match(created.headers["x-request-id"] ?? "", UUID)
      assert.strictEqual(created.headers["content-type"], "application/json")
      assert.strictEqual(created.headers["content-length"], String(Buffer.byteLength(JSON.stringify(view))))
      const manifest = JSON.parse(readFileSync(join(server.jobsDir, `${view.jobId}.manifest.json`), "utf8"))
      assert.strictEqual(manifest.digest, view.digest)
      assert.isTrue(existsSync(join(server.jobsDir, view.jobId, "app/custom/client.py")))
      const read = yield* get(server.url, `/v1/jobs/${view.jobId}`)
      assert.strictEqual(read.status, 200)
      assert.deepStrictEqual(read.json, { ...view, status: "rendered" })
      // A job id in the payload is just an unknown field: ids come from the server only.
      const smuggled = yield* post(server.url, JSON.stringify({ ...VALID, jobId: "../escape" }))
      assert.strictEqual(smuggled.status, 422)
      assert.deepStrictEqual(readdirSync(server.jobsDir).sort(), [view.jobId, `${view.jobId}.manifest.json`].sort())
    }))

  it.scopedLive("answers 400, 422, 404 and 405 with JSON errors", () =>
    Effect.gen(function*() {
      const server = yield* startServer()
      const malformed = yield* post(server.url, "{\"optimizer_name\": \"adam\",")
      assert.strictEqual(malformed.status, 400)
      assert.match((malformed.json as ErrorBody).error, /^Malformed JSON: /)
      assert.strictEqual((malformed.json as ErrorBody).errors?.length, 1)
      const invalid = yield* post(server.url, JSON.stringify({ optimizer_name: "adagrad", num_federation_rounds: 0 }))
      assert.strictEqual(invalid.status, 422)
      assert.deepStrictEqual((invalid.json as ErrorBody).errors, [
        { path: "optimizer_name", message: "Expected \"adam\" or \"sgd\", got \"adagrad\"" },
        { path: "num_federation_rounds", message: "Expected a number between 1 and 1000, got 0" }
      ])
      const unknown = yield* get(server.url, "/v1/jobs/0b8c6a70-4f7e-4f57-9c55-1a0a2b1d0b6e")
      assert.strictEqual(unknown.status, 404)
      assert.strictEqual((yield* get(server.url, "/v1/jobs/..%2F..%2Fetc")).status, 404)
      assert.strictEqual((yield* get(server.url, "/nope")).status, 404)
      assert.strictEqual((yield* get(server.url, "/v1/jobs")).status, 405)
      assert.strictEqual(readdirSync(server.jobsDir).length, 0)
    }))

  it.scopedLive("answers 415 for other content types, without reading the body", () =>
    Effect.gen(function*() {
      const server = yield* startServer()
      for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1"]) {
        const answer = yield* post(server.url, JSON.stringify(VALID), type)
        assert.strictEqual(answer.status, 415, type)
        assert.match((answer.json as ErrorBody).error, /application\/json/)
      }
      // Declares 100 MB and sends none of it: the answer still comes.
      const huge = yield* raw(
        server.port,
        "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100000000\r\n\r\n{"
      )
      assert.strictEqual(huge.status, 415)
      const none = yield* raw(server.port, "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
      assert.strictEqual(none.status, 415)
    }))

  it.scopedLive("answers 413 on the declared length before reading, and while streaming a chunked body", () =>
    Effect.gen(function*() {
      const server = yield* startServer()
      const declared = yield* raw(
        server.port,
        "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n{\"a\""
      )
      assert.strictEqual(declared.status, 413)
      assert.match(declared.text, /1073741824 bytes sent, at most 1048576 bytes accepted/)
      const padded = `{"optimizer_name": "adam", "pad": "${"x".repeat(2 * 1024 * 1024)}"}`
      const sent = yield* post(server.url, padded)
      assert.strictEqual(sent.status, 413)
      // Chunked, no length declared: refused once 1 MiB has streamed in, while the client is still sending.
      const chunk = "x".repeat(64 * 1024)
      const chunked = yield* raw(
        server.port,
        "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        {
          then: (write) => {
            for (let i = 0; i < 24; i++) write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)
          }
        }
      )
      assert.strictEqual(chunked.status, 413)
      const after = yield* post(server.url, JSON.stringify(VALID))
      assert.strictEqual(after.status, 201)
    }))

  it.scopedLive("answers 408 when a body does not arrive in time", () =>
    Effect.gen(function*() {
      const server = yield* startServer({ requestTimeout: 300 })
      const slow = yield* raw(
        server.port,
        "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{\"optim"
      )
      assert.strictEqual(slow.status, 408)
      assert.strictEqual((yield* post(server.url, JSON.stringify(VALID))).status, 201)
    }))

  it.scopedLive("while shutting down, answers 503 and closes the connection, but finishes the request in flight", () =>
    Effect.gen(function*() {
      const server = yield* startServer()
      const body = JSON.stringify(VALID)
      const head =
        `POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`
      let sendRest: ((data: string) => void) | undefined
      const inFlight = yield* raw(server.port, head + body.slice(0, 10), { then: (write) => (sendRest = write) }).pipe(
        Effect.fork
      )
      const health = raw(server.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
      // The request is in flight once its headers are in: health then counts two, itself and that one.
      yield* health.pipe(Effect.repeat({ until: (answer) => answer.text.includes("\"inFlight\":2") }))
      const stopping = yield* Effect.fork(server.stop)
      const refused = yield* health.pipe(Effect.repeat({ until: (answer) => answer.status !== 200 }))
      assert.strictEqual(refused.status, 503)
      assert.match(refused.text, /\r\nconnection: close\r\n/i)
      assert.match(refused.text, /\r\nx-request-id: [0-9a-f-]{36}\r\n/i)
      assert.match(refused.text, /"error":"The server is shutting down/)
      assert.strictEqual((yield* raw(server.port, head + body)).status, 503)
      sendRest?.(body.slice(10))
      const answer = yield* Fiber.join(inFlight)
      assert.strictEqual(answer.status, 201, answer.text)
      yield* Fiber.join(stopping)
      const jobId = (JSON.parse(answer.text.slice(answer.text.indexOf("\r\n\r\n") + 4)) as { jobId: string }).jobId
      assert.deepStrictEqual(readdirSync(server.jobsDir).sort(), [jobId, `${jobId}.manifest.json`].sort())
      const requests = server.logs.map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((entry) => entry["msg"] === "request")
      assert.strictEqual(requests.find((entry) => entry["status"] === 201)?.["jobId"], jobId)
      assert.isAtLeast(requests.filter((entry) => entry["status"] === 503).length, 2)
    }))

  it.scopedLive("answers 500 when the runtime's template fails, without leaking its details", () =>
    Effect.gen(function*() {
      const server = yield* startServer({ module: fixture("throwing-template") })
      const answer = yield* post(server.url, "{\"num_rounds\": 3}")
      assert.strictEqual(answer.status, 500)
      assert.notMatch(JSON.stringify(answer.json), /secret|exploded/)
      assert.isTrue(server.logs.some((line) => line.includes("the template exploded")))
      const invalid = yield* post(server.url, "{\"num_rounds\": -3}")
      assert.strictEqual(invalid.status, 422)
      assert.deepStrictEqual((invalid.json as ErrorBody).errors, [
        { path: "(root)", message: "num_rounds must be a positive integer" }
      ])
      assert.strictEqual(readdirSync(server.jobsDir).length, 0)
    }))

  it.scopedLive("renders concurrent requests into distinct, complete job folders", () =>
    Effect.gen(function*() {
      const server = yield* startServer({ maxConcurrentRenders: 2 })
      const answers = yield* Effect.forEach(
        Array.from({ length: 40 }, (_, index) => ({ ...VALID, num_federation_rounds: index + 1 })),
        (payload) => post(server.url, JSON.stringify(payload)),
        { concurrency: 20 }
      )
      assert.deepStrictEqual(answers.map((answer) => answer.status), answers.map(() => 201))
      const ids = new Set(answers.map((answer) => (answer.json as { jobId: string }).jobId))
      assert.strictEqual(ids.size, 40)
      const entries = readdirSync(server.jobsDir)
      assert.strictEqual(entries.length, 80)
      assert.isFalse(entries.some((entry) => entry.startsWith(".")))
      for (const id of ids) assert.strictEqual(readdirSync(join(server.jobsDir, id, "app", "config")).length, 2)
    }))

  it.scopedLive("logs one JSON line per request with its id, and no payload value beyond a sanitized excerpt", () =>
    Effect.gen(function*() {
      const server = yield* startServer()
      const secret = "TOPSECRET-VALUE-THAT-MUST-NOT-BE-LOGGED"
      const body = JSON.stringify({ optimizer_name: "\u001b[31mred\u001b[0m", run_name: "x".repeat(80) + secret })
      const answer = yield* post(server.url, body)
      assert.strictEqual(answer.status, 422)
      const created = yield* post(server.url, JSON.stringify({ ...VALID, run_name: secret }))
      assert.strictEqual(created.status, 201)
      const entries = server.logs.map((line) => JSON.parse(line) as Record<string, unknown>)
      const requests = entries.filter((entry) => entry["msg"] === "request")
      assert.deepStrictEqual(
        requests.map((entry) => entry["requestId"]),
        [answer.headers["x-request-id"], created.headers["x-request-id"]]
      )
      assert.strictEqual(requests[0]?.["refused"], "InvalidPayload")
      assert.strictEqual(requests[1]?.["jobId"], (created.json as { jobId: string }).jobId)
      for (const line of server.logs) {
        assert.notInclude(line, secret)
        assert.isTrue(line.endsWith("\n"))
        assert.notMatch(line.slice(0, -1), /[\u0000-\u001f\u007f-\uffff]/, line)
      }
    }))

  it.scopedLive(
    "refuses every hostile payload of the runtime-core corpus with a 4xx, and keeps answering",
    () =>
      Effect.gen(function*() {
        const server = yield* startServer()
        const corpus = HostileCorpus.make({ ...VALID, run_name: "a run" })
        assert.isAtLeast(corpus.length, 200)
        const expected: Record<HostileCorpus.Expectation, ReadonlyArray<number>> = {
          MalformedJson: [400],
          PayloadTooLarge: [413],
          InvalidPayload: [422],
          reject: [400, 413, 422],
          "reject-or-safe": [201, 400, 413, 422]
        }
        const answers = yield* Effect.forEach(
          corpus,
          (entry) => Effect.map(post(server.url, entry.body), (a) => [entry, a] as const),
          {
            concurrency: 8
          }
        )
        for (const [entry, answer] of answers) {
          assert.include(expected[entry.expect], answer.status, entry.id)
          if (answer.status !== 201) {
            const error = answer.json as ErrorBody
            assert.isString(error.error, entry.id)
            assert.isAbove(error.errors?.length ?? 0, 0, entry.id)
          }
        }
        assert.isAbove(answers.filter(([, answer]) => answer.status !== 201).length, 200)
        const health = yield* get(server.url, "/healthz")
        assert.strictEqual(health.status, 200)
        assert.strictEqual((yield* post(server.url, JSON.stringify(VALID))).status, 201)
      }),
    { timeout: 120_000 }
  )
})

describe("HTTP API under stress and with hostile clients", () => {
  it.scopedLive("with maxQueuedRenders 0, renders at once while a slot is free", () =>
    Effect.gen(function*() {
      const server = yield* startServer({ maxQueuedRenders: 0 })
      const answers = yield* Effect.forEach([1, 2, 3], () => post(server.url, JSON.stringify(VALID)))
      assert.deepStrictEqual(answers.map((answer) => answer.status), [201, 201, 201])
    }))

  it.scopedLive("a shutdown waits for a client stuck mid-body no longer than the grace, then closes it", () =>
    Effect.gen(function*() {
      // The request timeout (30 s by default) would free the request much later than the grace.
      const server = yield* startServer({ shutdownGrace: 300 })
      const stuck = yield* raw(
        server.port,
        "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{\"optim"
      ).pipe(Effect.fork)
      yield* get(server.url, "/healthz").pipe(
        Effect.repeat({ until: (answer) => (answer.json as { inFlight: number }).inFlight === 2 })
      )
      const stopped = yield* server.stop.pipe(Effect.timeoutOption("10 seconds"))
      assert.isTrue(stopped._tag === "Some", "the server did not stop within 10 s of a 300 ms grace")
      const cut = yield* Fiber.join(stuck).pipe(Effect.timeoutOption("5 seconds"))
      assert.isTrue(cut._tag === "Some", "the stuck connection was left open")
      assert.strictEqual(readdirSync(server.jobsDir).length, 0)
    }))

  it.scopedLive("logs a client that leaves mid-body with status 499, and answers the next one", () =>
    Effect.gen(function*() {
      const server = yield* startServer()
      const socket = connect(server.port, "127.0.0.1")
      socket.write("POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{")
      yield* get(server.url, "/healthz").pipe(
        Effect.repeat({ until: (answer) => (answer.json as { inFlight: number }).inFlight === 2 })
      )
      socket.destroy()
      const requestLines = () =>
        server.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) =>
          entry["msg"] === "request" && entry["method"] === "POST"
        )
      const logged = yield* Effect.sync(requestLines).pipe(
        Effect.repeat({ until: (lines) => lines.length > 0, schedule: Schedule.spaced("10 millis") }),
        Effect.timeoutOption("5 seconds")
      )
      assert.isTrue(logged._tag === "Some", "the aborted request was never logged")
      assert.deepStrictEqual(
        requestLines().map((entry) => [entry["status"], entry["refused"]]),
        [[499, "ClientAborted"]]
      )
      assert.strictEqual((yield* post(server.url, JSON.stringify(VALID))).status, 201)
    }))

  it.scopedLive("answers HEAD /healthz without a body, and every answer says nosniff and no-store", () =>
    Effect.gen(function*() {
      const server = yield* startServer()
      const head = yield* raw(server.port, "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
      assert.strictEqual(head.status, 200, head.text)
      assert.strictEqual(head.text.slice(head.text.indexOf("\r\n\r\n") + 4), "")
      assert.match(head.text, /\r\ncontent-type: application\/json\r\n/i)
      assert.match(head.text, /\r\nx-content-type-options: nosniff\r\n/i)
      const answers = [
        yield* get(server.url, "/healthz"),
        yield* post(server.url, JSON.stringify(VALID)),
        yield* post(server.url, "{\"optimizer_name\": 1}"),
        yield* post(server.url, "{", "text/plain"),
        yield* get(server.url, "/nope")
      ]
      assert.deepStrictEqual(answers.map((answer) => answer.status), [200, 201, 422, 415, 404])
      for (const answer of answers) {
        assert.strictEqual(answer.headers["x-content-type-options"], "nosniff", String(answer.status))
        assert.strictEqual(answer.headers["cache-control"], "no-store", String(answer.status))
      }
      const allowed = yield* raw(server.port, "DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
      assert.strictEqual(allowed.status, 405)
      assert.match(allowed.text, /\r\nallow: GET, HEAD\r\n/i)
    }))

  it.scopedLive("echoes a well-formed X-Request-Id and replaces a malformed one", () =>
    Effect.gen(function*() {
      const server = yield* startServer()
      const withId = (id: string) =>
        Effect.promise(() => fetch(`${server.url}/healthz`, { headers: { "x-request-id": id } }))
      const good = ["req-7f3a_9.b", "0b8c6a70-4f7e-4f57-9c55-1a0a2b1d0b6e", "Zm9v+YmFy/=="]
      for (const id of good) assert.strictEqual((yield* withId(id)).headers.get("x-request-id"), id)
      const bad = ["has space", "x".repeat(201), "quote\"d", "semi;colon", ""]
      for (const id of bad) {
        const echoed = (yield* withId(id)).headers.get("x-request-id") ?? ""
        assert.match(echoed, UUID, JSON.stringify(id))
      }
      const logged = server.logs.map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((entry) => entry["msg"] === "request").map((entry) => entry["requestId"])
      assert.deepStrictEqual(logged.slice(0, good.length), good)
      assert.notInclude(logged, "has space")
    }))
})
