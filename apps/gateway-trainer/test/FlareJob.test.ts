import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { Job } from "@fedkit/flare-config"
import { FlareToolchain } from "@fedkit/flare-toolchain"
import { FlareInstallation, Simulator } from "@fedkit/job-packager"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { inject } from "vitest"
import * as Bridge from "../src/Bridge.js"
import * as Federation from "../src/Federation.js"
import * as FlareJob from "../src/FlareJob.js"
import * as ModelVector from "../src/ModelVector.js"
import * as NpyVector from "../src/NpyVector.js"
import * as Standardization from "../src/Standardization.js"
import * as Dal from "./support/dal.js"

const payload = { optimizer_name: "adam", learning_rate: 0.01, local_epochs: 2, batch_size: 32 } as const
const customDir = inject("customDir")
const evaluateBin = fileURLToPath(new URL("../dist/bin.js", import.meta.url))

describe("FlareJob", () => {
  it.effect("adds the bridge and the trainer to the Secure Runtime's job, and nothing else", () =>
    Effect.gen(function*() {
      const custom = { [Bridge.BRIDGE_FILE]: "# bridge", [Bridge.TRAINER_FILE]: "// trainer" }
      const rendered = yield* FlareJob.render({ ...payload, num_federation_rounds: 3 }, { a: "gw-1", b: "gw-2" })
      const files = yield* Job.toFiles(yield* FlareJob.withTrainer(rendered, custom))
      assert.deepStrictEqual(Object.keys(files).sort(), [
        "app/config/config_fed_client.json",
        "app/config/config_fed_server.json",
        "app/custom/fedkit_bridge.py",
        "app/custom/fedkit_trainer.mjs",
        "meta.json"
      ])
      assert.deepStrictEqual(JSON.parse(files["meta.json"]!).deploy_map, { app: ["server", "gw-1", "gw-2"] })
      assert.strictEqual(JSON.parse(files["app/config/config_fed_server.json"]!).workflows[0].args.num_rounds, 4)
      assert.strictEqual(files["app/custom/fedkit_trainer.mjs"], "// trainer")
    }))
})

describe("FlareJob.siteRounds", () => {
  it("reads each site's metrics and row count from FLARE's round records, and skips what it cannot read", () => {
    const record = {
      round: 3,
      aggregated_metrics: [{ name: "local_loss", value: 0.1 }],
      sites: [
        {
          name: "gateway-1",
          weight: 183,
          weight_key: "NUM_STEPS_CURRENT_ROUND",
          metrics: [{ name: "global_accuracy", value: 0.9672 }, { name: "local_loss", value: null }]
        }
      ],
      skipped_metrics: []
    }
    assert.deepStrictEqual(FlareJob.siteRounds([record, { round: "x" }, null]), [
      { site: "gateway-1", round: 3, samples: 183, metrics: { global_accuracy: 0.9672 } }
    ])
  })
})

const Live = Simulator.layer().pipe(
  Layer.provideMerge(FlareInstallation.layerVenv(FlareToolchain.defaultVenvDir())),
  Layer.provideMerge(NodeContext.layer)
)

layer(Live, { excludeTestServices: true })("the job in nvflare simulator", (it) => {
  it.scoped(
    "3 gateways (directory, zip, directory), 3 rounds: loss falls, accuracy rises, same model as in-process",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { gateways, server, split } = yield* Dal.start()
        const rendered = yield* FlareJob.render(
          { ...payload, num_federation_rounds: 3 },
          Object.fromEntries(gateways.map((gateway) => [gateway.datasetId, gateway.gateway]))
        )
        const dir = yield* fs.makeTempDirectoryScoped({ prefix: "fedkit-bcw-sim-" })
        const lines: Array<string> = []
        const result = yield* FlareJob.simulate({
          job: yield* FlareJob.withTrainer(rendered, yield* FlareJob.readCustom(customDir)),
          dalUrl: server.url,
          gateways: gateways.map((gateway) => ({ gateway, token: Dal.token(gateway) })),
          jobDir: `${dir}/job`,
          outputDir: `${dir}/flare`,
          onLog: (line) => Effect.sync(() => lines.push(line.text))
        })
        assert.strictEqual(result.status, "FINISHED:COMPLETED")
        for (const line of lines) assert.notInclude(line, Dal.SECRET_MARK)

        // Per site and round, the received global model on the site's rows, as FLARE recorded it on the server.
        const seen = FlareJob.siteRounds(result.metrics.rounds)
        assert.strictEqual(seen.length, 9)
        for (const gateway of gateways) {
          const rounds = seen.filter((s) => s.site === gateway.gateway).sort((a, b) => a.round - b.round)
          assert.deepStrictEqual(rounds.map((r) => r.round), [1, 2, 3])
          assert.strictEqual(rounds[0]!.samples, gateway.samples)
          rounds.slice(1).forEach((r, i) =>
            assert.isBelow(
              r.metrics["global_loss"]!,
              rounds[i]!.metrics["global_loss"]!,
              `${gateway.gateway} ${r.round}`
            )
          )
          assert.isAbove(rounds[2]!.metrics["global_accuracy"]!, rounds[0]!.metrics["global_accuracy"]!)
          // The site's log was kept with the result.
          assert.include(yield* fs.readFileString(result.logs.sites[gateway.gateway]!), "fedkit-bridge: ")
        }

        const model = yield* NpyVector.read(Option.getOrThrow(result.globalModel))
        const heldOut = Federation.evaluate(model, split.test)
        assert.isAtLeast(heldOut.accuracy, 0.9)
        // The public command reads the model FLARE saved and prints the same held-out accuracy.
        const evaluated = JSON.parse(
          execFileSync(process.execPath, [evaluateBin, "evaluate", Option.getOrThrow(result.globalModel), "--json"], {
            encoding: "utf8"
          })
        ) as { accuracy: number; rows: number }
        assert.deepStrictEqual(evaluated.rows, split.test.count)
        assert.strictEqual(evaluated.accuracy, heldOut.accuracy)
        // FLARE's run and the in-process FedAvg run the same math: only float32 summation order differs.
        const inProcess = Either.getOrThrow(Federation.run({
          sites: split.shards.map((shard) => ({ name: shard.gateway, samples: shard.samples })),
          trainingRounds: 3,
          settings: { optimizer: "adam", learningRate: 0.01, localEpochs: 2, batchSize: 32 }
        }))
        model.forEach((value, i) =>
          assert.closeTo(value, inProcess.model[i]!, 1e-4 * Math.max(1, Math.abs(value)), `[${i}]`)
        )
        // The federated statistics are the central ones.
        const central = Standardization.of(split.train)
        ModelVector.statistics(model).mean.forEach((m, j) =>
          assert.closeTo(m, central.mean[j]!, 1e-5 * Math.abs(central.mean[j]!))
        )
      }),
    { timeout: 240_000 }
  )
})
