// Jobs the checks refuse, written by hand and given to FLARE (`nvflare simulator`) to show both sides agree, plus the
// one case where FLARE does not fail but silently does something else.
import { FileSystem, Path } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Job, JobCheck } from "../../src/index.js"
import { TRAINER } from "../support/fedavgJob.js"
import { FlareLive } from "../support/python.js"
import { externalClient, persistor, rawFiles } from "../support/rawJob.js"
import { simulate } from "../support/simulate.js"
import * as Simulator from "../support/simulator.js"

const allMeta = { name: "rejected", deploy_map: { app: ["@ALL"] }, min_clients: 2 }
const trainer = { "trainer.py": TRAINER }
const client = externalClient({
  command: ["python3", "-u", "custom/trainer.py", "--scale", "1", "--label", "x"],
  params_exchange_format: "numpy",
  server_expected_format: "numpy"
})

layer(FlareLive, { excludeTestServices: true })("jobs the checks reject, FLARE rejects too", (it) => {
  it.scoped(
    "a dangling aggregator_id: refused before FLARE sees it; FLARE aborts the run",
    () =>
      Effect.gen(function*() {
        const server = {
          format_version: 2,
          workflows: [{
            id: "sag",
            path: "nvflare.app_common.workflows.scatter_and_gather.ScatterAndGather",
            args: { min_clients: 2, num_rounds: 1, persistor_id: "persistor", aggregator_id: "aggregator" }
          }],
          components: [
            persistor,
            {
              id: "shareable_generator",
              path: "nvflare.app_common.shareablegenerators.full_model_shareable_generator.FullModelShareableGenerator"
            }
          ]
        }
        const files = rawFiles(allMeta, { app: { server, client, custom: trainer } })
        const job = yield* Job.fromFiles(files)
        const error = yield* Effect.flip(Job.toFiles(job))
        assert.deepStrictEqual(error.issues.map(String), [
          "app/config/config_fed_server.json $.workflows[0].args.aggregator_id: ScatterAndGather's aggregator_id names component 'aggregator', which does not exist"
        ])
        const run = yield* simulate(files, 2)
        assert.notStrictEqual(run.result.exitCode, 0)
        assert.isTrue(
          run.result.output.some((line) => line.includes("aggregator aggregator must be an Aggregator type object")),
          "FLARE names the missing aggregator"
        )
        assert.isFalse(yield* Effect.flatMap(FileSystem.FileSystem, (fs) => fs.exists(run.modelFile)))
      }),
    { timeout: Simulator.TEST_TIMEOUT }
  )

  it.scoped(
    "an app in deploy_map that does not exist: refused before FLARE sees it; FLARE refuses the job",
    () =>
      Effect.gen(function*() {
        const meta = { ...allMeta, deploy_map: { app: ["@ALL"] } }
        const files = rawFiles(meta, {
          other: { server: { format_version: 2, workflows: [{ path: "a.B" }] }, client, custom: trainer }
        })
        const job = yield* Job.fromFiles(files)
        assert.deepStrictEqual(JobCheck.check(job).map(String), [
          "meta.json $.deploy_map.app: App 'app' in deploy_map doesn't exist: the job has no such app",
          "meta.json $.deploy_map: app 'other' is not in deploy_map: its files would belong to no site"
        ])
        const run = yield* simulate(files, 2)
        assert.notStrictEqual(run.result.exitCode, 0)
        assert.isTrue(run.result.output.some((line) => line.includes("App 'app' in deploy_map doesn't exist")))
      }),
    { timeout: Simulator.TEST_TIMEOUT }
  )

  // Not every dangling reference makes FLARE fail: FedAvg only warns about a missing persistor and trains without it.
  // The job "succeeds" but never saves the model the persistor was meant to save, which is why the check refuses it.
  it.scoped(
    "FedAvg's implicit persistor_id with no persistor: refused here; FLARE warns, exits 0, saves elsewhere",
    () =>
      Effect.gen(function*() {
        const server = {
          format_version: 2,
          workflows: [{
            id: "fedavg",
            path: "nvflare.app_common.workflows.fedavg.FedAvg",
            args: { num_clients: 2, num_rounds: 1, model: { numpy_key: [[1, 2, 3], [4, 5, 6]] } }
          }]
        }
        const files = rawFiles(allMeta, { app: { server, client, custom: trainer } })
        const job = yield* Job.fromFiles(files)
        assert.deepStrictEqual(JobCheck.check(job).map(String), [
          `app/config/config_fed_server.json $.workflows[0].path: FedAvg's persistor_id names component 'persistor', which does not exist (persistor_id defaults to "persistor"; set it to "" if none is wanted)`
        ])
        const run = yield* simulate(files, 2)
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        assert.strictEqual(run.result.exitCode, 0)
        assert.isTrue(
          run.result.output.some((line) => line.includes("Persistor persistor must be a LearnablePersistor"))
        )
        assert.isFalse(yield* fs.exists(run.modelFile))
        assert.isTrue(yield* fs.exists(path.join(path.dirname(path.dirname(run.modelFile)), "FL_global_model.pt")))
      }),
    { timeout: Simulator.TEST_TIMEOUT }
  )
})
