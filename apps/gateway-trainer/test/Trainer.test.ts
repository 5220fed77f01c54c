import { NodeContext } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import type { DalClient } from "@fedkit/dal-client"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as CsvShard from "../src/CsvShard.js"
import * as ModelVector from "../src/ModelVector.js"
import type * as Protocol from "../src/Protocol.js"
import * as Standardization from "../src/Standardization.js"
import * as Trainer from "../src/Trainer.js"
import * as Dal from "./support/dal.js"

const settings = { optimizer: "adam", learningRate: 0.01, localEpochs: 2, batchSize: 32 } as const

/** Runs the trainer in this process over queues, as the bridge would drive it over stdio. */
const harness = <E>(dal: Layer.Layer<DalClient.DalClient, E>) =>
  Effect.gen(function*() {
    const toTrainer = yield* Queue.unbounded<Protocol.Message>()
    const fromTrainer = yield* Queue.unbounded<Protocol.Message>()
    const logs: Array<string> = []
    const channel: Trainer.Channel = {
      incoming: Stream.fromQueue(toTrainer),
      send: (message) => Queue.offer(fromTrainer, message)
    }
    const fiber = yield* Trainer.run(channel).pipe(
      Trainer.reportTo(channel),
      Effect.provide(Layer.merge(dal, NodeContext.layer)),
      Effect.provide(Logger.replace(Logger.defaultLogger, Logger.make(({ message }) => logs.push(String(message))))),
      Effect.fork
    )
    // Bounded, so a trainer that dies without a word fails the test instead of hanging it.
    const next = Queue.take(fromTrainer).pipe(
      Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("the trainer sent nothing for 20 s") })
    )
    return { toTrainer, next, fiber, logs }
  })

const noSecrets = (texts: ReadonlyArray<string>) => {
  for (const text of texts) assert.notInclude(text, Dal.SECRET_MARK)
}

describe("Trainer against a real DAL on loopback", () => {
  layer(NodeContext.layer, { excludeTestServices: true })((it) => {
    it.scoped("loads a directory dataset and a zip dataset through dal-client, then answers rounds", () =>
      Effect.gen(function*() {
        const { gateways, server, split } = yield* Dal.start()
        for (const [index, gateway] of gateways.slice(0, 2).entries()) {
          assert.strictEqual(gateway.layout, index === 0 ? "directory" : "zip")
          const t = yield* harness(Dal.client(server.url, gateway))
          const ready = yield* t.next
          assert.deepStrictEqual(ready, {
            _tag: "Ready",
            functionName: Trainer.FUNCTION_NAME,
            datasets: 1,
            samples: split.shards[index]!.samples.count
          })
          yield* Queue.offer(t.toTrainer, { _tag: "Train", round: 0, settings, vector: ModelVector.initial() })
          const stats = yield* t.next
          assert.strictEqual(stats._tag, "Result")
          if (stats._tag !== "Result") return
          assert.strictEqual(stats.phase, "statistics")
          // The moments of exactly the shard's rows (file order may differ, so compare to float32 precision).
          const expected = Standardization.of(split.shards[index]!.samples)
          const got = ModelVector.statistics(stats.vector)
          got.mean.forEach((m, j) => assert.closeTo(m, expected.mean[j]!, 1e-6 * Math.abs(expected.mean[j]!)))
          yield* Queue.offer(t.toTrainer, { _tag: "Train", round: 1, settings, vector: stats.vector })
          const trained = yield* t.next
          assert.isTrue(trained._tag === "Result" && trained.phase === "training")
          if (trained._tag === "Result") assert.isBelow(trained.metrics["local_loss"]!, trained.metrics["global_loss"]!)
          const payload = Float32Array.of(1, 2, 3)
          yield* Queue.offer(t.toTrainer, { _tag: "Ping", payload })
          assert.deepStrictEqual(yield* t.next, { _tag: "Pong", payload })
          yield* Queue.offer(t.toTrainer, { _tag: "Shutdown" })
          yield* Fiber.join(t.fiber)
          noSecrets(t.logs)
        }
        const requests = yield* server.requests
        assert.isTrue(requests.some((r) => r.key === "s3://gateway-2-data/breast-cancer.zip" && r.status === 200))
      }))

    it.scoped("refuses to run when the policy restricts functions without its name, before any download", () =>
      Effect.gen(function*() {
        const { gateways, server } = yield* Dal.start({ allowed: (g) => g.gateway !== "gateway-3" })
        const t = yield* harness(Dal.client(server.url, gateways[2]!))
        const failed = yield* t.next
        assert.deepStrictEqual(failed, {
          _tag: "Failed",
          failure: {
            type: "PolicyRefused",
            place: "preflight/policy",
            reason: `the asset policy of "${
              gateways[2]!.datasetId
            }" restricts the functions that may run and does not allow "${Trainer.FUNCTION_NAME}"; nothing was downloaded`
          }
        })
        const exit = yield* Fiber.await(t.fiber)
        assert.strictEqual(exit._tag, "Failure")
        const requests = yield* server.requests
        assert.deepStrictEqual(requests.map((r) => r.path.split("/")[1]), ["policies"])
        noSecrets(t.logs)
      }))

    it.scoped("reports a malformed CSV cell by file and line, never by its content", () =>
      Effect.gen(function*() {
        const header = CsvShard.HEADER.join(",")
        const row = ["PATIENT-4711", ...new Array(29).fill("1.5"), "0"].join(",")
        const { gateways, server } = yield* Dal.start({
          extraFiles: { "gateway-1-data/breast-cancer/part-9.csv": `${header}\n${row}\n` }
        })
        const t = yield* harness(Dal.client(server.url, gateways[0]!))
        const failed = yield* t.next
        assert.strictEqual(failed._tag, "Failed")
        if (failed._tag !== "Failed") return
        assert.strictEqual(failed.failure.type, "DatasetInvalid")
        assert.include(failed.failure.reason, "file \"part-9.csv\"")
        assert.include(failed.failure.reason, "line 2: a feature is not a finite decimal number")
        for (const text of [failed.failure.reason, ...t.logs]) assert.notInclude(text, "PATIENT")
      }))

    it.scoped("turns a rejected token into a DalAuthError that does not quote the token", () =>
      Effect.gen(function*() {
        const { gateways, server } = yield* Dal.start()
        const wrong = "wrong-token-c0ffee"
        const t = yield* harness(Dal.client(server.url, gateways[0]!, Redacted.make(wrong)))
        const failed = yield* t.next
        assert.isTrue(failed._tag === "Failed" && failed.failure.type === "DalAuthError")
        if (failed._tag === "Failed") assert.include(failed.failure.reason, "HTTP 401")
        for (const text of t.logs) assert.notInclude(text, wrong)
      }))

    it.scoped("a gateway's token cannot read another gateway's dataset (HTTP 403)", () =>
      Effect.gen(function*() {
        const { gateways, server } = yield* Dal.start()
        const t = yield* harness(Dal.client(server.url, gateways[1]!, Dal.token(gateways[0]!)))
        const failed = yield* t.next
        assert.isTrue(failed._tag === "Failed" && failed.failure.type === "DalAuthError")
        if (failed._tag === "Failed") {
          assert.strictEqual(
            failed.failure.reason,
            `the token may not access "${gateways[1]!.datasetId}" (HTTP 403)`
          )
        }
        noSecrets(t.logs)
      }))
  })
})
