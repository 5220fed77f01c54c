// A payload is parsed and checked before it waits for a render slot: a refused one is answered at once.
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { defineRuntime } from "@fedkit/runtime-core"
import { Effect, Fiber, Schema, TestClock } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Inputs from "../src/Inputs.js"
import * as Jobs from "../src/Jobs.js"
import { DATASET2GW } from "./support/fixtures.js"

/** A runtime whose template takes an hour (of the test clock): a render holds its slot until the clock moves. */
const slow = defineRuntime({
  payload: Schema.Struct({ rounds: Schema.Int }),
  template: () => Effect.as(Effect.sleep("1 hour"), {})
})

describe("Jobs", () => {
  it.scoped("refuses an invalid payload at once while every render slot is taken and no one may wait", () =>
    Effect.gen(function*() {
      const jobsDir = mkdtempSync(join(tmpdir(), "fedkit-sr-jobs-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(jobsDir, { recursive: true, force: true })))
      const jobs = yield* Jobs.make({
        runtime: slow,
        dataset2gw: yield* Inputs.dataset2gw(JSON.stringify(DATASET2GW)),
        jobsDir,
        maxConcurrentRenders: 1,
        maxQueuedRenders: 0
      })
      const holding = yield* Effect.fork(jobs.create(JSON.stringify({ rounds: 1 })))
      yield* Effect.yieldNow()
      const busy = yield* Effect.flip(jobs.create(JSON.stringify({ rounds: 2 })))
      assert.strictEqual(busy._tag, "JobsBusy")
      const refused = yield* Effect.flip(jobs.create(JSON.stringify({ rounds: "two" })))
      assert.strictEqual(refused._tag, "PayloadRefused")
      const malformed = yield* Effect.flip(jobs.create("{\"rounds\": "))
      assert.strictEqual(malformed._tag, "PayloadRefused")
      // Writing is never cut short, so the held render is let finish (its empty job is the module's fault).
      yield* TestClock.adjust("1 hour")
      assert.strictEqual((yield* Effect.flip(Fiber.join(holding)))._tag, "TemplateBroken")
    }).pipe(Effect.provide(NodeContext.layer)))
})
