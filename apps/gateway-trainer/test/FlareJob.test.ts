import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { Job } from "@fedkit/flare-config"
import { FlareToolchain } from "@fedkit/flare-toolchain"
import { FlareInstallation, Simulator } from "@fedkit/job-packager"
import { Effect, Either, Layer, Option } from "effect"
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

describe("FlareJob log lines", () => {
  it("reads a site's round and a bridge failure as the bridge logs them, and nothing else", () => {
    const round = FlareJob.siteRound(
      "2026-11-26 14:17:55,651 - INFO - fedkit-bridge: [gateway-1] round 3: training on 183 rows " +
        "global_accuracy=0.9672 global_loss=0.0936 local_accuracy=0.9781 local_loss=0.0885"
    )
    assert.deepStrictEqual(Option.getOrThrow(round), {
      site: "gateway-1",
      round: 3,
      phase: "training",
      samples: 183,
      metrics: { global_accuracy: 0.9672, global_loss: 0.0936, local_accuracy: 0.9781, local_loss: 0.0885 }
    })
    assert.deepStrictEqual(
      Option.getOrThrow(FlareJob.siteRound("fedkit-bridge: [gw_2] round 0: statistics on 12 rows")).metrics,
      {}
    )
    assert.isTrue(Option.isNone(FlareJob.siteRound("fedkit-trainer INFO: round 3: training on 183 rows")))
    assert.deepStrictEqual(
      Option.getOrThrow(FlareJob.bridgeFailure(
        "x - INFO - fedkit-bridge: [gateway-3] the trainer refused or failed: DalAuthError at preflight/policy: r"
      )),
      { site: "gateway-3", reason: "DalAuthError at preflight/policy: r" }
    )
    // Outside FLARE the bridge knows no site: nothing to attribute.
    assert.isTrue(Option.isNone(FlareJob.bridgeFailure("fedkit-bridge: the trainer refused or failed: X at y: z")))
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

        // Per site and round, the received global model on the site's rows, as the bridge logs it.
        const pattern =
          /fedkit-bridge: \[(gateway-\d)\] round (\d+): training on \d+ rows global_accuracy=([\d.]+) global_loss=([\d.]+)/
        const seen = lines.flatMap((line) => {
          const match = pattern.exec(line)
          return match === null
            ? []
            : [{ site: match[1]!, round: Number(match[2]), accuracy: Number(match[3]), loss: Number(match[4]) }]
        })
        assert.strictEqual(seen.length, 9)
        for (const gateway of gateways) {
          const rounds = seen.filter((s) => s.site === gateway.gateway).sort((a, b) => a.round - b.round)
          assert.deepStrictEqual(rounds.map((r) => r.round), [1, 2, 3])
          rounds.slice(1).forEach((r, i) =>
            assert.isBelow(r.loss, rounds[i]!.loss, `${gateway.gateway} round ${r.round}`)
          )
          assert.isAbove(rounds[2]!.accuracy, rounds[0]!.accuracy)
        }

        const model = yield* NpyVector.read(Option.getOrThrow(result.globalModel))
        assert.isAtLeast(Federation.evaluate(model, split.test).accuracy, 0.9)
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
