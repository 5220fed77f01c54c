import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Cluster from "../src/Cluster.js"
import { binPath, runCli } from "./support/cli.js"
import { DATASET2GW, fixture, VALID } from "./support/fixtures.js"
import { get, post, raw, startServer } from "./support/server.js"

interface Process {
  readonly child: ChildProcessWithoutNullStreams
  readonly url: string
  readonly stdout: () => string
  readonly stderr: () => string
  readonly exit: Promise<number | null>
}

/** The arguments of `serve` on a module (the good fixture), the test map, a jobs folder and a port (any free one). */
const serveArgs = (jobsDir: string, port = 0, module = fixture("good")) => [
  "serve",
  "--module",
  module,
  "--dataset2gw",
  JSON.stringify(DATASET2GW),
  "--jobs-dir",
  jobsDir,
  "--port",
  String(port)
]

/** `secure-runtime serve` as its own process; resolves once it printed its URL. */
const startProcess = (jobsDir: string, extra: ReadonlyArray<string> = []) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<Process>((resolve, reject) => {
        const child = spawn(process.execPath, [binPath(), ...serveArgs(jobsDir), ...extra])
        let stdout = ""
        let stderr = ""
        const exit = new Promise<number | null>((done) => child.on("close", done))
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
        child.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString("utf8")
          const first = stdout.split("\n")
          if (first.length > 1) {
            resolve({ child, url: first[0]!, stdout: () => stdout, stderr: () => stderr, exit })
          }
        })
        child.on("error", reject)
        void exit.then((code) => reject(new Error(`serve exited (${code}) before printing its URL: ${stderr}`)))
      })
    ),
    (running) => Effect.sync(() => running.child.kill("SIGKILL"))
  )

/** The first JSON log line with message `msg` the process writes (now or later). */
const logLine = (server: Process, msg: string) =>
  new Promise<Record<string, unknown>>((resolve) => {
    const find = () =>
      server.stderr().split("\n").filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((entry) => entry["msg"] === msg)
    const check = () => {
      const found = find()
      if (found === undefined) return
      server.child.stderr.off("data", check)
      resolve(found)
    }
    server.child.stderr.on("data", check)
    check()
  })

describe("secure-runtime serve (a separate process)", () => {
  it.scopedLive(
    "prints its URL first, logs JSON lines, and on SIGTERM finishes the request in flight",
    () =>
      Effect.gen(function*() {
        const jobsDir = mkdtempSync(join(tmpdir(), "fedkit-sr-serve-"))
        const server = yield* startProcess(jobsDir)
        assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/)
        const port = Number(new URL(server.url).port)
        assert.strictEqual((yield* get(server.url, "/healthz")).status, 200)

        // A request whose body is still arriving when SIGTERM comes: it must still be answered and its job written.
        const body = JSON.stringify(VALID)
        let finishBody: (write: (data: string) => void) => void = () => {}
        const bodyStarted = new Promise<(data: string) => void>((resolve) => (finishBody = resolve))
        const inFlight = yield* raw(
          port,
          `POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${
            body.slice(0, 10)
          }`,
          { then: (write) => finishBody(write) }
        ).pipe(Effect.fork)
        const write = yield* Effect.promise(() => bodyStarted)
        // The server reads sockets in the order their bytes arrive: once a request on a newer connection is
        // answered, it has taken in the head of the one in flight.
        assert.strictEqual((yield* get(server.url, "/healthz")).status, 200)
        server.child.kill("SIGTERM")
        const shuttingDown = yield* Effect.promise(() => logLine(server, "shutting down"))
        assert.strictEqual(shuttingDown["inFlight"], 1, "the signal came while the request was in flight")
        write(body.slice(10))
        const answer = yield* inFlight.await.pipe(Effect.flatten)
        assert.strictEqual(answer.status, 201, answer.text)
        const jobId = JSON.parse(answer.text.slice(answer.text.indexOf("\r\n\r\n") + 4)).jobId as string
        // Interrupted (exit code 130) only once the request in flight was answered and its job written.
        const code = yield* Effect.promise(() => server.exit)
        assert.strictEqual(code, 130, server.stderr())

        const entries = readdirSync(jobsDir)
        assert.deepStrictEqual(entries.sort(), [jobId, `${jobId}.manifest.json`].sort())
        const logs = server.stderr().trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>)
        const request = logs.find((entry) => entry["msg"] === "request" && entry["status"] === 201)
        assert.strictEqual(request?.["jobId"], jobId)
        assert.isString(request?.["requestId"])
        assert.isTrue(logs.some((entry) => entry["msg"] === "shutting down"))

        // A new process on the same folder still knows the job, from its manifest.
        const again = yield* startProcess(jobsDir)
        const read = yield* get(again.url, `/v1/jobs/${jobId}`)
        assert.strictEqual(read.status, 200)
        assert.strictEqual((read.json as { status: string }).status, "rendered")
        assert.strictEqual((yield* post(again.url, "[1]")).status, 422)
      }),
    { timeout: 60_000 }
  )

  it.scopedLive(
    "with --workers 2, any worker answers for any job, and SIGTERM stops them all",
    () =>
      Effect.gen(function*() {
        const jobsDir = mkdtempSync(join(tmpdir(), "fedkit-sr-serve-"))
        const server = yield* startProcess(jobsDir, ["--workers", "2"])
        assert.strictEqual(server.stdout().trim().split("\n").length, 1)
        const created = yield* Effect.forEach(
          Array.from({ length: 6 }, () => post(server.url, JSON.stringify(VALID))),
          (request) => request,
          { concurrency: 6 }
        )
        const ids = created.map((answer) => (answer.json as { jobId: string }).jobId)
        assert.strictEqual(new Set(ids).size, 6)
        for (const id of ids) {
          for (let i = 0; i < 3; i++) assert.strictEqual((yield* get(server.url, `/v1/jobs/${id}`)).status, 200)
        }
        const workers = new Set(
          server.stderr().trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>)
            .filter((entry) => entry["msg"] === "listening").map((entry) => entry["url"])
        )
        assert.strictEqual(workers.size, 1)
        // Each worker runs with the young generation sized for rendering (Linux: its command line in /proc).
        const workerPids = readFileSync(`/proc/${server.child.pid}/task/${server.child.pid}/children`, "utf8").trim()
          .split(" ")
        assert.strictEqual(workerPids.length, 2)
        for (const pid of workerPids) {
          assert.include(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0"), Cluster.WORKER_V8_FLAGS[0])
        }
        server.child.kill("SIGTERM")
        assert.strictEqual(yield* Effect.promise(() => server.exit), 130)
        assert.strictEqual(readdirSync(jobsDir).length, 12)
      }),
    { timeout: 60_000 }
  )

  it.scopedLive(
    "refuses to start on a port already in use, saying which (exit 1), with one worker or several",
    () =>
      Effect.gen(function*() {
        const taken = yield* startServer()
        for (const workers of [[], ["--workers", "2"]]) {
          const result = yield* Effect.promise(() =>
            runCli([...serveArgs(mkdtempSync(join(tmpdir(), "fedkit-sr-serve-")), taken.port), ...workers])
          )
          assert.strictEqual(result.code, 1, result.stderr)
          assert.strictEqual(result.stdout, "")
          assert.match(result.stderr, new RegExp(`Cannot listen on 127\\.0\\.0\\.1:${taken.port}: .*EADDRINUSE`))
        }
        assert.strictEqual((yield* get(taken.url, "/healthz")).status, 200)
      }),
    { timeout: 30_000 }
  )

  it.live("refuses to start on a module that is not a runtime, saying what is missing (exit 1)", () =>
    Effect.gen(function*() {
      const result = yield* Effect.promise(() =>
        runCli(serveArgs(mkdtempSync(join(tmpdir(), "fedkit-sr-serve-")), 0, fixture("missing-export")))
      )
      assert.strictEqual(result.code, 1)
      assert.strictEqual(result.stdout, "")
      assert.match(result.stderr, /it does not export template/)
    }))
})
