// Check once, at the boundary: what `toFiles` and `checkFiles` checked is recognised as checked, and nothing else is.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Job } from "../src/index.js"
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
