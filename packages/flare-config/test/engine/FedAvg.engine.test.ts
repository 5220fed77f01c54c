// The FedAvg numpy job of the issue, built only with this package's builders, run in the real engine
// (`nvflare simulator` from the project's venv); the global model it leaves is read back and checked.
import { assert, describe, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Job } from "../../src/index.js"
import { program } from "../fixtures/readme.job.js"
import { buildJob, expectedModel, type Options } from "../support/fedavgJob.js"
import { nvflare28Source } from "../support/nvflare28.js"
import { FlareLive, runPython } from "../support/python.js"
import { READ_MODEL, simulate } from "../support/simulate.js"
import * as Simulator from "../support/simulator.js"

const runFedAvg = (options: Options, env?: Record<string, string>) =>
  Effect.gen(function*() {
    const job = yield* buildJob(options)
    const files = yield* Job.toFiles(job)
    const run = yield* simulate(files, options.clients, env)
    yield* Simulator.succeeded(run.jobDir)(run.result)
    const model = yield* runPython<ReadonlyArray<ReadonlyArray<number>>>(READ_MODEL, run.modelFile)
    assert.deepStrictEqual(model, expectedModel(options))
  })

layer(FlareLive, { excludeTestServices: true })("FedAvg numpy job built with the builders", (it) => {
  describe("FLARE 2.9 (nvflare 2.9.0)", () => {
    // The README example: one app to @ALL, a trainer that adds 1 per round; its edit raised num_rounds to 3.
    it.scoped("runs with 2 clients for 3 rounds (the README example, one app to @ALL)", () =>
      Effect.gen(function*() {
        const { files } = yield* program
        const run = yield* simulate(files, 2)
        yield* Simulator.succeeded(run.jobDir)(run.result)
        const model = yield* runPython<ReadonlyArray<ReadonlyArray<number>>>(READ_MODEL, run.modelFile)
        assert.deepStrictEqual(model, [[4, 5, 6], [7, 8, 9]])
      }), { timeout: Simulator.TEST_TIMEOUT })

    // Site-k adds scale * k plus the length of an awkward argv label: the average proves every site contributed
    // every round and the label reached each trainer as one intact argument.
    it.scoped(
      "runs with 3 clients for 3 rounds (server and client apps, sites named)",
      () => runFedAvg({ clients: 3, rounds: 3, scale: 2, layout: "named" }),
      { timeout: Simulator.TEST_TIMEOUT }
    )
  })

  describe("FLARE 2.8 target (nvflare 2.8.1 source over the venv)", () => {
    it.scoped(
      "runs with 2 clients for 2 rounds through ClientAPILauncherExecutor + SubprocessLauncher + CellPipe",
      () =>
        Effect.gen(function*() {
          const source = yield* nvflare28Source
          yield* runFedAvg({ clients: 2, rounds: 2, scale: 1, target: "2.8" }, { PYTHONPATH: source })
        }),
      { timeout: Simulator.TEST_TIMEOUT }
    )
  })
})
