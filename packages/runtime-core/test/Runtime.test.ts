import { assert, describe, it } from "@effect/vitest"
import { ClientConfig, Job, JobMeta, ServerConfig, Workflows } from "@fedkit/flare-config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Rejection from "../src/Rejection.js"
import * as Runtime from "../src/Runtime.js"
import contract, { Payload, TRAIN_SCRIPT } from "./fixtures/contractRuntime.js"

const dataset2gw = { "ds-1": "site-1", "ds-2": "site-2", "ds-3": "site-2" }

/** What a contract function threw. */
const thrown = (f: () => unknown): unknown => {
  try {
    f()
  } catch (error) {
    return error
  }
  assert.fail("expected a throw")
}

const rejection = (body: string) => {
  const error = thrown(() => contract.parse(body))
  assert.isTrue(Rejection.isPayloadRejected(error), String(error))
  return error as Rejection.PayloadRejected
}

describe("defineRuntime: parse", () => {
  it("applies the defaults the schema declares", () => {
    assert.deepStrictEqual(contract.parse("{\"optimizer_name\": \"sgd\"}"), {
      optimizer_name: "sgd",
      learning_rate: 0.01,
      num_federation_rounds: 10
    })
  })

  it("refuses each class of bad body with the matching error and HTTP status", () => {
    const cases: ReadonlyArray<readonly [string, Rejection.PayloadRejected["_tag"], number]> = [
      ["{\"optimizer_name\": \"adam\"" + " ".repeat(1024 * 1024), "PayloadTooLarge", 413],
      ["{\"optimizer_name\": adam}", "MalformedJson", 400],
      [`{"optimizer_name": "adam", "x": ${"[".repeat(40)}${"]".repeat(40)}}`, "InvalidPayload", 422],
      ["[\"adam\"]", "InvalidPayload", 422],
      ["{\"optimizer_name\": \"adam\", \"extra\": 1}", "InvalidPayload", 422],
      ["{\"optimizer_name\": \"adam\", \"__proto__\": {\"polluted\": true}}", "InvalidPayload", 422],
      ["{\"optimizer_name\": 1}", "InvalidPayload", 422],
      ["{\"optimizer_name\": \"adam\", \"learning_rate\": 2}", "InvalidPayload", 422],
      ["{\"optimizer_name\": \"adam\", \"num_federation_rounds\": 1e309}", "InvalidPayload", 422]
    ]
    for (const [body, tag, status] of cases) {
      const error = rejection(body)
      assert.strictEqual(error._tag, tag, body.slice(0, 60))
      assert.strictEqual(Rejection.httpStatus(error), status)
      assert.isAbove(error.issues.length, 0)
    }
  })

  it("lists every problem, with paths and actionable messages", () => {
    const error = rejection(
      "{\"optimizer_name\": \"rmsprop\", \"learning_rate\": 0, \"num_federation_rounds\": 2.5, \"lr\": 0.1, \"constructor\": 1}"
    )
    assert.deepStrictEqual(error.issues, [
      { path: "constructor", message: "field name \"constructor\" is not allowed" },
      {
        path: "lr",
        message:
          "is not an allowed field; allowed fields are \"optimizer_name\", \"learning_rate\" and \"num_federation_rounds\""
      },
      { path: "optimizer_name", message: "Expected \"adam\" or \"sgd\", got \"rmsprop\"" },
      { path: "learning_rate", message: "Expected a positive number, got 0" },
      { path: "num_federation_rounds", message: "Expected an integer, got 2.5" }
    ])
    assert.strictEqual(
      error.message,
      "Invalid payload (5 problems): constructor: field name \"constructor\" is not allowed; lr: is not an allowed field; " +
        "allowed fields are \"optimizer_name\", \"learning_rate\" and \"num_federation_rounds\"; optimizer_name: " +
        "Expected \"adam\" or \"sgd\", got \"rmsprop\"; and 2 more."
    )
  })

  it("reports missing required fields", () => {
    assert.deepStrictEqual(rejection("{}").issues, [{ path: "optimizer_name", message: "is required" }])
  })

  it("refuses non-finite and imprecise numbers instead of letting them through as other values", () => {
    const error = rejection(
      "{\"optimizer_name\": \"adam\", \"learning_rate\": 1e-400, \"num_federation_rounds\": 9007199254740993}"
    )
    assert.deepStrictEqual(error.issues.map((issue) => issue.path), ["learning_rate", "num_federation_rounds"])
  })

  it("gives messages without stack traces, schema names or echoes of huge values", () => {
    const error = rejection(`{"optimizer_name": "${"A".repeat(500_000)}"}`)
    assert.isBelow(error.message.length, 300)
    assert.notMatch(error.message, /\n\s+at |Struct|Literal|Schema/)
  })

  it("can ignore unknown fields when asked", () => {
    const lenient = Runtime.defineRuntime({ payload: Payload, exact: false, template: () => ({}) })
    assert.deepStrictEqual(lenient.parse("{\"optimizer_name\": \"adam\", \"extra\": 1}"), {
      optimizer_name: "adam",
      learning_rate: 0.01,
      num_federation_rounds: 10
    })
  })

  it("honours its limits", () => {
    const small = Runtime.defineRuntime({
      payload: Payload,
      limits: { maxBytes: 64, maxDepth: 2 },
      template: () => ({})
    })
    assert.strictEqual(
      (thrown(() => small.parse(`{"optimizer_name": "${"a".repeat(64)}"}`)) as Rejection.PayloadRejected)._tag,
      "PayloadTooLarge"
    )
    const deep = thrown(() => small.parse("{\"optimizer_name\": [[1]]}")) as Rejection.PayloadRejected
    assert.include(deep.issues[0]?.message, "deeper than 2 levels")
    assert.throws(() => Runtime.defineRuntime({ payload: Payload, limits: { maxBytes: -1 }, template: () => ({}) }))
  })

  it.effect("has an Effect version that fails with the same typed errors", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(contract.parseEffect("{\"optimizer_name\": true}"))
      assert.strictEqual(error._tag, "InvalidPayload")
      const payload = yield* contract.parseEffect(new TextEncoder().encode("{\"optimizer_name\": \"adam\"}"))
      assert.strictEqual(payload.learning_rate, 0.01)
    }))
})

describe("defineRuntime: validate", () => {
  it("runs the author's cross-field checks", () => {
    const payload = contract.parse("{\"optimizer_name\": \"sgd\", \"learning_rate\": 0.9}")
    const error = thrown(() => contract.validate(payload)) as Rejection.InvalidPayload
    assert.strictEqual(error._tag, "InvalidPayload")
    assert.deepStrictEqual(error.issues, [{
      path: "learning_rate",
      message: "with sgd, the learning rate must be at most 0.5"
    }])
    assert.isUndefined(contract.validate(contract.parse("{\"optimizer_name\": \"adam\", \"learning_rate\": 0.9}")))
  })

  it("checks values that did not come from parse (a Python shim passes the JSON form back)", () => {
    const forged = {
      optimizer_name: "adam",
      learning_rate: -5,
      num_federation_rounds: 10
    } as unknown as typeof Payload.Type
    const error = thrown(() => contract.validate(forged)) as Rejection.InvalidPayload
    assert.deepStrictEqual(error.issues, [{ path: "learning_rate", message: "Expected a positive number, got -5" }])
    const jsonForm = JSON.parse(JSON.stringify(contract.encode(contract.parse("{\"optimizer_name\": \"sgd\"}"))))
    assert.isUndefined(contract.validate(jsonForm))
  })
})

describe("defineRuntime: template", () => {
  const payload = contract.parse("{\"optimizer_name\": \"sgd\", \"learning_rate\": 0.25, \"num_federation_rounds\": 3}")

  it("renders a FedAvg job as canonical files", () => {
    const files = contract.template(payload, dataset2gw)
    assert.deepStrictEqual(Object.keys(files), [
      "app/config/config_fed_client.json",
      "app/config/config_fed_server.json",
      "app/custom/train.py",
      "meta.json"
    ])
    assert.deepStrictEqual(JSON.parse(files["meta.json"]!), {
      name: "fedavg",
      deploy_map: { app: ["server", "site-1", "site-2"] },
      min_clients: 2
    })
    const server = JSON.parse(files["app/config/config_fed_server.json"]!)
    assert.deepStrictEqual(server.workflows[0].args, { num_clients: 2, num_rounds: 3, persistor_id: "persistor" })
    const client = JSON.parse(files["app/config/config_fed_client.json"]!)
    assert.deepStrictEqual(client.executors[0].executor.args.command, [
      "python3",
      "-u",
      "custom/train.py",
      "--optimizer",
      "sgd",
      "--learning-rate",
      "0.25"
    ])
    assert.strictEqual(files["app/custom/train.py"], TRAIN_SCRIPT)
    assert.isTrue(files["meta.json"]!.endsWith("}\n"))
  })

  it("renders byte-identically, whatever the order of dataset2gw", () => {
    const first = contract.template(payload, dataset2gw)
    const second = contract.template(payload, Object.fromEntries(Object.entries(dataset2gw).reverse()))
    assert.deepStrictEqual(second, first)
  })

  it("refuses an invalid dataset2gw with the path of each problem", () => {
    const error = thrown(() =>
      contract.template(payload, { "ds-1": "server", "ds-2": "bad name" })
    ) as Runtime.TemplateError
    assert.strictEqual(error._tag, "InvalidDataset2Gw")
    if (error._tag !== "InvalidDataset2Gw") return
    assert.deepStrictEqual(error.issues.map((issue) => issue.path), ["dataset2gw[\"ds-1\"]", "dataset2gw[\"ds-2\"]"])
    assert.strictEqual(
      (thrown(() => contract.template(payload, undefined)) as Runtime.TemplateError)._tag,
      "InvalidDataset2Gw"
    )
  })

  it("refuses a payload that is not valid, even when called directly", () => {
    const forged = { ...payload, num_federation_rounds: 0 }
    assert.strictEqual(
      (thrown(() => contract.template(forged, dataset2gw)) as Runtime.TemplateError)._tag,
      "InvalidPayload"
    )
  })

  const failing = (
    template: Runtime.Definition<typeof Payload.Type, typeof Payload.Encoded, Record<never, never>>["template"]
  ) => Runtime.defineRuntime({ payload: Payload, template })

  const templateFailure = (runtime: Runtime.Runtime<typeof Payload.Type>) => {
    const error = thrown(() => runtime.template(payload, dataset2gw)) as Runtime.TemplateError
    assert.strictEqual(error._tag, "TemplateFailed")
    return error as Runtime.TemplateFailed
  }

  it("turns a throwing template into TemplateFailed", () => {
    const error = templateFailure(failing(() => {
      throw new RangeError("boom")
    }))
    assert.strictEqual(error.reason, "the template function failed: RangeError: boom")
  })

  it("turns a failing template Effect into TemplateFailed", () => {
    const error = templateFailure(failing(() => Effect.as(Workflows.fedAvg({ num_rounds: -1 }), {})))
    assert.include(error.reason, "the template function failed")
  })

  it("refuses JSON given as text, unsafe paths and non-JSON values", () => {
    const error = templateFailure(failing(() => ({
      "meta.json": "{\"name\": \"x\"}",
      "../escape.py": "x",
      "app/config/config_fed_server.json": { format_version: 2, workflows: [], n: Number.NaN },
      "app/custom/notes.txt": { not: "text" }
    })))
    assert.deepStrictEqual(error.issues.map((issue) => issue.path), [
      "[\"../escape.py\"]",
      "[\"app/config/config_fed_server.json\"].n",
      "[\"app/custom/notes.txt\"]",
      "[\"meta.json\"]"
    ])
  })

  it("refuses a file map that is not a valid FLARE job, with FLARE's rules", () => {
    const error = templateFailure(failing(() => ({
      "meta.json": { name: "job", deploy_map: { app: ["site-1"] } },
      "app/config/config_fed_client.json": { format_version: 2, executors: [] }
    })))
    assert.isAbove(error.issues.length, 0)
    assert.isTrue(error.issues.every((issue) => issue.path.startsWith("meta.json") || issue.path.startsWith("app/")))
  })

  it("accepts a valid file map and writes it canonically", () => {
    const runtime = failing((_, { dataset2gw: map, minClients }) =>
      Effect.gen(function*() {
        const server = yield* ServerConfig.make({
          workflows: [yield* Workflows.fedAvg({ num_clients: minClients, persistor_id: "" })]
        })
        const meta = yield* JobMeta.make({ name: "job", deploy_map: { app: ["server", ...Object.values(map)] } })
        const job = yield* Job.make({
          meta,
          apps: {
            app: {
              server,
              client: yield* ClientConfig.decode({
                format_version: 2,
                executors: [{
                  tasks: ["train"],
                  executor: { path: "nvflare.app_common.np.np_trainer.NPTrainer", args: {} }
                }]
              }),
              custom: {}
            }
          }
        })
        const files = yield* Job.toFiles(job)
        // The same files as a map of values: meta.json keys in another order must not change the output.
        return Object.fromEntries(
          Object.entries(files).map(([path, text]) => [path, path.endsWith(".json") ? JSON.parse(text) : text])
        )
      })
    )
    const files = runtime.template(payload, { "ds-1": "site-1" })
    assert.strictEqual(
      files["meta.json"],
      "{\n  \"name\": \"job\",\n  \"deploy_map\": {\n    \"app\": [\n      \"server\",\n      \"site-1\"\n    ]\n  }\n}\n"
    )
  })

  it.effect("has Effect versions, and renderEffect runs parse, validate and template", () =>
    Effect.gen(function*() {
      const files = yield* contract.renderEffect("{\"optimizer_name\": \"adam\"}", dataset2gw)
      assert.include(files["app/config/config_fed_server.json"], "\"num_rounds\": 10")
      const invalid = yield* Effect.exit(
        contract.renderEffect("{\"optimizer_name\": \"sgd\", \"learning_rate\": 0.9}", dataset2gw)
      )
      assert.isTrue(Exit.isFailure(invalid))
      const error = yield* Effect.flip(contract.templateEffect(payload, {}))
      assert.strictEqual(error._tag, "InvalidDataset2Gw")
    }))

  it("exposes bound contract functions", () => {
    const { parse, template, validate } = contract
    const parsed = parse("{\"optimizer_name\": \"adam\"}")
    validate(parsed)
    assert.property(template(parsed, dataset2gw), "meta.json")
  })

  it("is recognised as a runtime", () => {
    assert.isTrue(Runtime.isRuntime(contract))
    assert.isFalse(Runtime.isRuntime({ parse: () => 1 }))
    assert.isTrue(Either.isRight(Schema.decodeUnknownEither(Rejection.PayloadRejected)(rejection("{}"))))
  })
})
