// A payload is parsed and checked before it waits for a render slot: a refused one is answered at once. The HTTP API
// runs over Jobs.layerTest too, with no render at all.
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { defineRuntime } from "@fedkit/runtime-core"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { randomUUID } from "node:crypto"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Inputs from "../src/Inputs.js"
import * as Jobs from "../src/Jobs.js"
import * as JsonLog from "../src/JsonLog.js"
import * as RuntimeModule from "../src/RuntimeModule.js"
import * as Server from "../src/Server.js"
import { DATASET2GW, GOOD_MODULE, VALID } from "./support/fixtures.js"
import { get, post } from "./support/server.js"

/** A runtime whose template takes an hour (of the test clock): a render holds its slot until the clock moves. */
const slow = defineRuntime({
  payload: Schema.Struct({ rounds: Schema.Int }),
  template: () => Effect.as(Effect.sleep("1 hour"), {})
})

/** `Jobs` over `slow` with one render slot and no queue, in a fresh jobs folder removed with the test's scope. */
const slowJobs = Effect.gen(function*() {
  const jobsDir = mkdtempSync(join(tmpdir(), "fedkit-sr-jobs-"))
  yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(jobsDir, { recursive: true, force: true })))
  return yield* Jobs.make({
    runtime: slow,
    dataset2gw: yield* Inputs.dataset2gw(JSON.stringify(DATASET2GW)),
    jobsDir,
    maxConcurrentRenders: 1,
    maxQueuedRenders: 0
  })
})

describe("Jobs", () => {
  it.scoped("refuses an invalid payload at once while every render slot is taken and no one may wait", () =>
    Effect.gen(function*() {
      const jobs = yield* slowJobs
      // An asynchronous template: `create` gives an effect to wait on, not an `Exit`.
      const first = jobs.create(JSON.stringify({ rounds: 1 }))
      assert.isFalse(Exit.isExit(first))
      const holding = yield* Effect.fork(first)
      yield* Effect.yieldNow()
      const busy = yield* Effect.flip(jobs.create(JSON.stringify({ rounds: 2 })))
      assert.strictEqual(busy._tag, "JobsBusy")
      const refused = yield* Effect.flip(jobs.create(JSON.stringify({ rounds: "two" })))
      assert.strictEqual(refused._tag, "PayloadRefused")
      const malformed = yield* Effect.flip(jobs.create("{\"rounds\": "))
      assert.strictEqual(malformed._tag, "PayloadRefused")
      // Known when `create` is called: a plain `Exit`, which the server answers without running a fiber.
      const exit = jobs.create(JSON.stringify({ rounds: "three" }))
      assert.isTrue(Exit.isExit(exit) && Exit.isFailure(exit))
      // Writing is never cut short, so the held render is let finish (its empty job is the module's fault).
      yield* TestClock.adjust("1 hour")
      assert.strictEqual((yield* Effect.flip(Fiber.join(holding)))._tag, "TemplateBroken")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a render that must wait goes on in a fiber of the service, which its shutdown interrupts", () =>
    Effect.gen(function*() {
      const service = yield* Scope.make()
      const jobs = yield* slowJobs.pipe(Scope.extend(service))
      const waiting = yield* Effect.fork(jobs.create(JSON.stringify({ rounds: 1 })))
      yield* Effect.yieldNow()
      yield* Scope.close(service, Exit.void)
      const exit = yield* Fiber.await(waiting)
      assert.isTrue(Exit.isInterrupted(exit), "the render was interrupted with the service, not left running")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("with a slot free, renders and writes the job when `create` is called: a plain `Exit`, the job on disk", () =>
    Effect.gen(function*() {
      const jobsDir = mkdtempSync(join(tmpdir(), "fedkit-sr-jobs-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(jobsDir, { recursive: true, force: true })))
      const jobs = yield* Jobs.make({
        runtime: (yield* RuntimeModule.load(GOOD_MODULE)).runtime,
        dataset2gw: yield* Inputs.dataset2gw(JSON.stringify(DATASET2GW)),
        jobsDir,
        maxConcurrentRenders: 1,
        maxQueuedRenders: 0
      })
      for (let round = 0; round < 3; round++) {
        const exit = jobs.create(JSON.stringify(VALID))
        assert.isTrue(Exit.isExit(exit) && Exit.isSuccess(exit))
        const view = yield* exit
        assert.strictEqual(view.status, "rendered")
        // Complete on disk already, and its slot given back (the next round would be busy otherwise).
        assert.isTrue(existsSync(join(jobsDir, `${view.jobId}.manifest.json`)))
        assert.deepStrictEqual(Option.getOrThrow(yield* jobs.get(view.jobId)), view)
      }
    }).pipe(Effect.provide(NodeContext.layer)))
})

const known: Jobs.JobView = { jobId: randomUUID(), digest: "sha256:0", files: ["meta.json"], status: "rendered" }

/** The real server on loopback, over whatever `Jobs` the test provides. */
const serveJobs = Effect.gen(function*() {
  const jobs = yield* Jobs.Jobs
  const listening = yield* Deferred.make<string>()
  const logs: Array<string> = []
  yield* Server.serve({
    jobs,
    port: 0,
    host: "127.0.0.1",
    maxBodyBytes: 1024,
    shutdownGrace: "1 second",
    onListening: (url) => Deferred.succeed(listening, url)
  }).pipe(
    Effect.provide(Logger.replace(Logger.defaultLogger, JsonLog.make((line) => logs.push(line)))),
    Effect.forkScoped
  )
  return { url: yield* Deferred.await(listening), logs }
})

describe("Jobs.layerTest", () => {
  it.scopedLive("drives the HTTP API without rendering: busy is 503 with Retry-After, a known job is 200", () =>
    Effect.gen(function*() {
      const { url } = yield* serveJobs
      const busy = yield* post(url, "{}")
      assert.strictEqual(busy.status, 503)
      assert.strictEqual(busy.headers["retry-after"], "1")
      assert.deepInclude(busy.json, { error: "The server is busy (3 renders waiting); try again shortly." })
      const found = yield* get(url, `/v1/jobs/${known.jobId}`)
      assert.strictEqual(found.status, 200)
      assert.deepStrictEqual(found.json, known)
      assert.strictEqual((yield* get(url, `/v1/jobs/${randomUUID()}`)).status, 404)
    }).pipe(
      Effect.provide(Jobs.layerTest({
        create: () => Effect.fail(new Jobs.JobsBusy({ queued: 3 })),
        get: (jobId) => Effect.succeed(jobId === known.jobId ? Option.some(known) : Option.none())
      }))
    ))

  it.scopedLive("an operation the test leaves out dies when called: the server answers 500 and keeps serving", () =>
    Effect.gen(function*() {
      const { logs, url } = yield* serveJobs
      assert.strictEqual((yield* post(url, "{}")).status, 500)
      assert.strictEqual((yield* get(url, `/v1/jobs/${known.jobId}`)).status, 200)
      assert.isTrue(logs.some((line) => line.includes("UnimplementedError")), logs.join("\n"))
    }).pipe(Effect.provide(Jobs.layerTest({ get: () => Effect.succeed(Option.some(known)) }))))
})
