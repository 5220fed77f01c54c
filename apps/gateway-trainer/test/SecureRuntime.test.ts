import { assert, describe, it } from "@effect/vitest"
import { loadRuntimeModule } from "@fedkit/runtime-core"
import { Conformance } from "@fedkit/runtime-core/testing"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Bridge from "../src/Bridge.js"
import * as ModelVector from "../src/ModelVector.js"
import * as SecureRuntime from "../src/secure_runtime/secure_runtime_service.js"

const runtime = SecureRuntime.default
const dataset2gw = {
  "breast-cancer-wisconsin_gateway-1_org-1": "gateway-1",
  "breast-cancer-wisconsin_gateway-2_org-2": "gateway-2",
  "breast-cancer-wisconsin_gateway-2b_org-2": "gateway-2",
  "breast-cancer-wisconsin_gateway-3_org-3": "gateway-3"
}

describe("the Secure Runtime module", () => {
  it.effect(
    "passes runtime-core's conformance kit (determinism, hostile corpus, no injection)",
    () =>
      Effect.gen(function*() {
        const report = yield* Conformance.check(runtime, {
          samples: [
            { optimizer_name: "adam" },
            { optimizer_name: "sgd", learning_rate: 0.1, num_federation_rounds: 3, local_epochs: 5, batch_size: 16 }
          ]
        })
        assert.isAbove(report.corpus.total, 400)
      }),
    { timeout: 120_000 }
  )

  it("parses the contract's payload, applying the defaults", () => {
    assert.deepStrictEqual(runtime.parse("{\"optimizer_name\": \"adam\"}"), {
      optimizer_name: "adam",
      learning_rate: 0.01,
      num_federation_rounds: 10,
      local_epochs: 2,
      batch_size: 32
    })
  })

  it("refuses missing, unknown, out-of-bounds and inexact fields", () => {
    const bad: ReadonlyArray<[string, string]> = [
      ["{}", "optimizer_name"],
      ["{\"optimizer_name\": \"rmsprop\"}", "optimizer_name"],
      ["{\"optimizer_name\": \"adam\", \"optimizer\": \"adam\"}", "optimizer"],
      ["{\"optimizer_name\": \"adam\", \"learning_rate\": 0}", "learning_rate"],
      ["{\"optimizer_name\": \"adam\", \"learning_rate\": 1.5}", "learning_rate"],
      ["{\"optimizer_name\": \"adam\", \"learning_rate\": \"0.1\"}", "learning_rate"],
      ["{\"optimizer_name\": \"adam\", \"num_federation_rounds\": 0}", "num_federation_rounds"],
      ["{\"optimizer_name\": \"adam\", \"num_federation_rounds\": 101}", "num_federation_rounds"],
      ["{\"optimizer_name\": \"adam\", \"num_federation_rounds\": 2.5}", "num_federation_rounds"],
      ["{\"optimizer_name\": \"adam\", \"local_epochs\": 0}", "local_epochs"],
      ["{\"optimizer_name\": \"adam\", \"batch_size\": 5000}", "batch_size"]
    ]
    for (const [body, field] of bad) {
      const result = Either.try(() => runtime.parse(body))
      assert.isTrue(Either.isLeft(result), body)
      if (Either.isLeft(result)) {
        const error = result.left as { _tag: string; message: string }
        assert.strictEqual(error._tag, "InvalidPayload", body)
        assert.include(error.message, field, body)
      }
    }
  })

  it("renders FedAvg for rounds + 1 over the distinct gateways, with the bridge command from the payload", () => {
    const payload = runtime.parse(
      "{\"optimizer_name\": \"sgd\", \"learning_rate\": 0.05, \"num_federation_rounds\": 4}"
    )
    const files = runtime.template(payload, dataset2gw)
    assert.deepStrictEqual(Object.keys(files), [
      "app/config/config_fed_client.json",
      "app/config/config_fed_server.json",
      "meta.json"
    ])
    const server = JSON.parse(files["app/config/config_fed_server.json"]!)
    assert.deepStrictEqual(server.workflows[0].args, { num_clients: 3, num_rounds: 5, persistor_id: "persistor" })
    assert.deepStrictEqual(server.components[0].args.model, Array.from(ModelVector.initial()))
    const client = JSON.parse(files["app/config/config_fed_client.json"]!)
    assert.deepStrictEqual(
      client.executors[0].executor.args.command,
      Bridge.command({ optimizer: "sgd", learningRate: 0.05, localEpochs: 2, batchSize: 32 })
    )
    assert.strictEqual(client.executors[0].executor.args.execution_mode, "external_process")
    const meta = JSON.parse(files["meta.json"]!)
    assert.strictEqual(meta.min_clients, 3)
    assert.deepStrictEqual(meta.deploy_map, { app: ["server", "gateway-1", "gateway-2", "gateway-3"] })
  })

  it("refuses a missing or empty dataset2gw", () => {
    const payload = runtime.parse("{\"optimizer_name\": \"adam\"}")
    for (const map of [undefined, {}]) {
      const result = Either.try(() => runtime.template(payload, map))
      assert.isTrue(Either.isLeft(result) && (result.left as { _tag: string })._tag === "InvalidDataset2Gw")
    }
  })

  it("loads as a runtime module, with its templates found beside it", async () => {
    const moduleUrl = new URL("../src/secure_runtime/secure_runtime_service.ts", import.meta.url)
    const loaded = Either.getOrThrow(loadRuntimeModule(await import(moduleUrl.href), { moduleUrl }))
    const files = loaded.template(loaded.parse("{\"optimizer_name\": \"adam\"}"), dataset2gw)
    assert.include(files["app/config/config_fed_server.json"], "\"num_rounds\": 11")
  })
})
