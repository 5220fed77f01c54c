import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Dataset2Gw from "../src/Dataset2Gw.js"
import * as JsonBody from "../src/JsonBody.js"
import contract, { Payload } from "./fixtures/contractRuntime.js"

const ValidPayload = Payload.pipe(
  Schema.filter((payload) => !(payload.optimizer_name === "sgd" && payload.learning_rate > 0.5))
)

const hasPrototypeKey = (value: unknown): boolean =>
  typeof value === "object" && value !== null &&
  Object.entries(value).some(([key, item]) =>
    ["__proto__", "constructor", "prototype"].includes(key) || hasPrototypeKey(item)
  )

// JSON.stringify writes 1.1255393751537714e17 as "112553937515377140", an integer literal the double does not equal.
const hasUnsafeInteger = (value: unknown): boolean =>
  typeof value === "number"
    ? Number.isInteger(value) && !Number.isSafeInteger(value)
    : typeof value === "object" && value !== null && Object.values(value).some(hasUnsafeInteger)

describe("properties of the contract runtime", () => {
  it.prop(
    "every valid payload round-trips through its JSON form and renders deterministically",
    [ValidPayload, Dataset2Gw.Dataset2Gw],
    ([payload, dataset2gw]) => {
      const body = JSON.stringify(contract.encode(payload))
      const parsed = contract.parse(body)
      assert.deepStrictEqual(parsed, payload)
      contract.validate(parsed)
      const files = contract.template(parsed, dataset2gw)
      assert.deepStrictEqual(contract.template(contract.parse(body), { ...dataset2gw }), files)
      const server = JSON.parse(files["app/config/config_fed_server.json"]!)
      assert.strictEqual(server.workflows[0].args.num_rounds, payload.num_federation_rounds)
      assert.strictEqual(server.workflows[0].args.num_clients, Dataset2Gw.minClients(dataset2gw))
      const command = JSON.parse(files["app/config/config_fed_client.json"]!).executors[0].executor.args.command
      assert.strictEqual(Number(command[6]), payload.learning_rate)
    },
    { fastCheck: { numRuns: 60 } }
  )

  it.prop("a payload missing optional fields gets the defaults", [Schema.Literal("adam", "sgd")], ([optimizer]) => {
    assert.deepStrictEqual(contract.parse(JSON.stringify({ optimizer_name: optimizer })), {
      optimizer_name: optimizer,
      learning_rate: 0.01,
      num_federation_rounds: 10
    })
  })

  it.prop(
    "the body screening accepts exactly the JSON objects JSON.parse reads, within the limits",
    [Schema.Record({ key: Schema.String, value: Schema.Unknown })],
    ([record]) => {
      const text = JSON.stringify(record) ?? "{}"
      const result = JsonBody.parseEither(text)
      const reparsed = JSON.parse(text)
      if (Either.isRight(result)) assert.deepStrictEqual(result.right, reparsed)
      else assert.isTrue(hasPrototypeKey(reparsed) || hasUnsafeInteger(reparsed), text)
    },
    { fastCheck: { numRuns: 200 } }
  )
})
