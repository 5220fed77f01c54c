// Check once, at the boundary: what `toFiles` and `checkFiles` checked is recognised as checked, and nothing else is.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { ClientConfig, Job, ServerConfig } from "../src/index.js"
import { buildJob } from "./support/fedavgJob.js"

const options = { clients: 2, rounds: 3, scale: 1 }

describe("CheckedFiles", () => {
  it.effect("toFiles and checkFiles hand out frozen files marked with their target; copies are not marked", () =>
    Effect.gen(function*() {
      const job = yield* buildJob(options)
      const files = yield* Job.toFiles(job)
      assert.strictEqual(Job.checkedTarget(files), "2.9")
      assert.isTrue(Object.isFrozen(files))
      assert.strictEqual(Object.keys(files)[0], "meta.json")
      const byPath = yield* Job.toFiles(job, { order: "path" })
      assert.deepStrictEqual(Object.keys(byPath), Object.keys(files).sort())
      assert.deepStrictEqual({ ...byPath }, { ...files })
      // A copy, or a cast, is just a record: it must be checked again.
      assert.isUndefined(Job.checkedTarget({ ...files }))
      assert.isUndefined(Job.checkedTarget(null))
      const checked = yield* Job.checkFiles({ ...files })
      assert.strictEqual(Job.checkedTarget(checked), "2.9")
      assert.deepStrictEqual(Object.keys(checked), Object.keys(files).sort())
      // The mark says which release the files were checked for: a packager for another one checks them itself.
      assert.strictEqual(Job.checkedTarget(yield* Job.checkFiles({ ...files }, { target: "2.8" })), "2.8")
    }))

  it.effect("checkFiles refuses a file map that is not a valid job, with every issue", () =>
    Effect.gen(function*() {
      const files = yield* Effect.flatMap(buildJob(options), Job.toFiles)
      const server = JSON.parse(files["app/config/config_fed_server.json"]!)
      server.workflows[0].args.persistor_id = "missing"
      const error = yield* Effect.flip(
        Job.checkFiles({ ...files, "app/config/config_fed_server.json": JSON.stringify(server) })
      )
      assert.strictEqual(error._tag, "JobCheckError")
      assert.match(error.message, /missing/)
      const broken = yield* Effect.flip(Job.checkFiles({ ...files, "meta.json": "{" }))
      assert.strictEqual(broken._tag, "DecodeError")
    }))

  it.effect("isFlareJob knows a job make built, and checks any other value", () =>
    Effect.gen(function*() {
      const job = yield* buildJob(options)
      assert.isTrue(Job.isFlareJob(job))
      assert.isTrue(Job.isFlareJob({ ...job }))
      assert.isFalse(Job.isFlareJob({ ...job, meta: { ...job.meta, min_clients: -1 } }))
      assert.isFalse(Job.isFlareJob({ "meta.json": {} }))
    }))
})

// Check once, inside a job: what a builder or decoder checked is frozen and trusted by what assembles and writes it;
// a value put together by hand gets every check.
describe("checked parts", () => {
  it.effect("a built job and its parts are frozen, so what was checked cannot change afterwards", () =>
    Effect.gen(function*() {
      const job = yield* buildJob(options)
      const app = Object.values(job.apps)[0]!
      assert.isTrue(Object.isFrozen(job) && Object.isFrozen(job.meta) && Object.isFrozen(app))
      const server = app.server!
      assert.isTrue(Object.isFrozen(server.workflows[0]!.args))
      assert.throws(() => {
        ;(server.workflows[0]!.args as Record<string, unknown>).num_rounds = -1
      })
    }))

  it.effect("Job.make checks a config that no builder made, and reports it as before", () =>
    Effect.gen(function*() {
      const job = yield* buildJob(options)
      const [name, app] = Object.entries(job.apps).find(([, app]) => app.server !== undefined)!
      const server = app.server!
      // A spread copy is a plain value with the same type: it is checked again, and a broken one is refused.
      const copy = { ...server, workflows: [{ ...server.workflows[0]!, path: "not a class path" }] } as typeof server
      const error = yield* Effect.flip(
        Job.make({ meta: job.meta, apps: { ...job.apps, [name]: { ...app, server: copy } } })
      )
      assert.match(error.message, /class path/)
      const intact = yield* Job.make({
        meta: job.meta,
        apps: { ...job.apps, [name]: { ...app, server: { ...server } } }
      })
      assert.deepStrictEqual(yield* Job.toFiles(intact), yield* Job.toFiles(job))
    }))

  it.effect("ServerConfig.make and ClientConfig.make check components no builder made, and report them as before", () =>
    Effect.gen(function*() {
      const job = yield* buildJob(options)
      const apps = Object.values(job.apps)
      const server = apps.find((app) => app.server !== undefined)!.server!
      const client = apps.find((app) => app.client !== undefined)!.client!
      const [workflow] = server.workflows
      const [entry] = client.executors
      const badWorkflow = { ...workflow!, path: "not a class path" }
      const serverError = yield* Effect.flip(ServerConfig.make({ ...server, workflows: [badWorkflow] }))
      assert.match(serverError.message, /workflows\[0\]\.path.*class path/)
      const badExecutor = { ...entry!, executor: { ...entry!.executor, args: { x: Number.NaN } } }
      const clientError = yield* Effect.flip(ClientConfig.make({ ...client, executors: [badExecutor] }))
      assert.match(clientError.message, /executors\[0\]\.executor\.args\.x.*finite/)
      // Valid copies pass, and write the same files.
      const copied = yield* ServerConfig.make({ ...server, workflows: [{ ...workflow! }] })
      assert.strictEqual(ServerConfig.toJson(copied), ServerConfig.toJson(server))
    }))

  it.effect("the whole-job check still checks builder args put under another class or changed by hand", () =>
    Effect.gen(function*() {
      const job = yield* buildJob(options)
      const [name, app] = Object.entries(job.apps).find(([, app]) => app.server !== undefined)!
      const server = app.server!
      const [workflow] = server.workflows
      const moved = yield* ServerConfig.make({
        ...server,
        workflows: [{ ...workflow!, path: "nvflare.app_common.workflows.cross_site_model_eval.CrossSiteModelEval" }]
      })
      const changed = yield* ServerConfig.make({
        ...server,
        workflows: [{ ...workflow!, args: { ...workflow!.args, num_rounds: "three" } }]
      })
      for (const [config, expected] of [[moved, /CrossSiteModelEval/], [changed, /num_rounds/]] as const) {
        const edited = yield* Job.make({ meta: job.meta, apps: { ...job.apps, [name]: { ...app, server: config } } })
        const error = yield* Effect.flip(Job.toFiles(edited))
        assert.match(error.message, expected)
      }
    }))
})
