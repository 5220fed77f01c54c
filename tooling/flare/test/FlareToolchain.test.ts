import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as FlareToolchain from "../src/FlareToolchain.js"
import * as Simulator from "../src/Simulator.js"
import * as SmokeJob from "../src/SmokeJob.js"

const Live = FlareToolchain.layer.pipe(Layer.provideMerge(NodeContext.layer))

describe("FlareToolchain.locate", () => {
  it.effect("refuses a folder that is not a finished environment, and says how to make one", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const empty = yield* fs.makeTempDirectoryScoped()
      const error = yield* FlareToolchain.locate(empty).pipe(Effect.flip)
      assert.strictEqual(error._tag, "FlareToolchainError")
      assert.include(error.message, empty)
      assert.include(error.message, "tooling/flare/bootstrap.mjs")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))
})

layer(Live, { excludeTestServices: true })("the project's FLARE environment", (it) => {
  it.effect("nvflare --version reports the pinned release", () =>
    Effect.gen(function*() {
      const version = yield* FlareToolchain.nvflareVersion
      assert.include(version, FlareToolchain.PINNED_NVFLARE_VERSION)
    }))

  it.scoped("runs the numpy FedAvg smoke job in nvflare simulator with 2 clients", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const workspace = yield* fs.makeTempDirectoryScoped({ prefix: "fedkit-smoke-" })
      const result = yield* SmokeJob.run({ workspace, clients: 2 })
      assert.strictEqual(result.exitCode, 0)
      assert.isTrue(yield* fs.exists(result.modelPath))
      // Both clients add 1 per round and FedAvg averages them, so each round adds exactly 1.
      const expected = SmokeJob.INITIAL_MODEL.map((row) => row.map((value) => value + SmokeJob.ROUNDS))
      assert.deepStrictEqual(result.model, expected)
    }), { timeout: 300_000 })

  it.scoped(
    "reports a job whose trainer crashes as SimulationFailed, although FLARE may exit 0",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const jobDir = yield* fs.makeTempDirectoryScoped({ prefix: "fedkit-broken-job-" })
        yield* fs.copy(SmokeJob.JOB_DIR, jobDir, { overwrite: true })
        yield* fs.writeFileString(
          `${jobDir}/app/custom/client.py`,
          "raise RuntimeError('trainer crashed on purpose')\n"
        )
        const workspace = yield* fs.makeTempDirectoryScoped({ prefix: "fedkit-broken-ws-" })
        const error = yield* Simulator.run({ jobDir, workspace, clients: 2 }).pipe(
          Effect.flatMap(Simulator.succeeded(jobDir)),
          Effect.flip
        )
        assert.strictEqual(error._tag, "SimulationFailed")
        assert.isFalse(yield* fs.exists(`${workspace}/server/simulate_job/models/server.npy`))
      }),
    { timeout: 300_000 }
  )
})
