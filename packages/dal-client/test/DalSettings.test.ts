import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as AssetPolicy from "../src/AssetPolicy.js"
import * as DalSettings from "../src/DalSettings.js"
import { TOKEN } from "./support/index.js"

const fromEnv = (env: Record<string, string>) =>
  DalSettings.fromEnv.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))

const valid = {
  APH_API_DAL_URL: "http://gateway-agent-dal",
  APH_DAL_TOKEN: TOKEN,
  APH_DATA: JSON.stringify({ "ds_gateway-1_org-1": "s3://bkt/ds/", whas: "s3://bkt/whas/data.csv" })
}

describe("DalSettings", () => {
  it.effect("reads the APH_* variables, with defaults", () =>
    Effect.gen(function*() {
      const s = yield* fromEnv(valid)
      assert.strictEqual(s.url, "http://gateway-agent-dal/")
      assert.strictEqual(Redacted.value(s.token), TOKEN)
      assert.deepStrictEqual({ ...s.data }, { "ds_gateway-1_org-1": "s3://bkt/ds/", whas: "s3://bkt/whas/data.csv" })
      assert.strictEqual(s.maxWorkers, 16)
      assert.strictEqual(s.retries, 5)
      assert.isTrue(Duration.equals(s.timeout, Duration.seconds(60)))
    }))

  it.effect("keeps a path and adds the trailing slash either way; reads the optional numbers", () =>
    Effect.gen(function*() {
      const a = yield* fromEnv({ ...valid, APH_API_DAL_URL: "https://orchestrator/dev/dal" })
      const b = yield* fromEnv({
        ...valid,
        APH_API_DAL_URL: "https://orchestrator/dev/dal/",
        APH_TIMEOUT: "2.5",
        APH_MAX_WORKERS: "50",
        APH_RETRIES: "0"
      })
      assert.strictEqual(a.url, "https://orchestrator/dev/dal/")
      assert.strictEqual(b.url, "https://orchestrator/dev/dal/")
      assert.isTrue(Duration.equals(b.timeout, Duration.millis(2500)))
      assert.strictEqual(b.maxWorkers, 50)
      assert.strictEqual(b.retries, 0)
    }))

  it.effect("names every bad variable and what is wrong, in one line, without the token", () =>
    Effect.gen(function*() {
      const error = yield* fromEnv({
        APH_API_DAL_URL: "ftp://x",
        APH_DAL_TOKEN: TOKEN,
        APH_DATA: JSON.stringify({ ok: "s3://b/x", bad: 3, dots: "s3://b/../etc" }),
        APH_TIMEOUT: "soon",
        APH_MAX_WORKERS: "0"
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "DalConfigError")
      assert.deepStrictEqual(error.problems.map((p) => p.variable), [
        "APH_API_DAL_URL",
        "APH_DATA",
        "APH_TIMEOUT",
        "APH_MAX_WORKERS"
      ])
      assert.include(error.message, "APH_API_DAL_URL: must be an http:// or https:// URL")
      assert.include(error.message, "APH_DATA: at [\"bad\"]: Expected string, actual 3")
      assert.include(error.message, "\"dots\"")
      assert.include(error.message, "APH_TIMEOUT: must be a positive number of seconds")
      assert.notInclude(error.message, "\n")
      assert.notInclude(error.message, TOKEN)
    }))

  it.effect("reports missing variables and JSON that does not parse", () =>
    Effect.gen(function*() {
      const missing = yield* fromEnv({}).pipe(Effect.flip)
      assert.strictEqual(
        missing.message,
        "invalid DAL settings: APH_API_DAL_URL: is not set; APH_DAL_TOKEN: is not set"
      )
      const notJson = yield* fromEnv({ ...valid, APH_DATA: "{not json" }).pipe(Effect.flip)
      assert.match(notJson.message, /^invalid DAL settings: APH_DATA: .*JSON/)
      const empty = yield* fromEnv({ ...valid, APH_DAL_TOKEN: "  " }).pipe(Effect.flip)
      assert.strictEqual(empty.message, "invalid DAL settings: APH_DAL_TOKEN: is empty")
    }))

  it.effect("settings given in code follow the same rules; the token stays redacted when printed", () =>
    Effect.gen(function*() {
      const s = yield* DalSettings.make({ url: new URL("http://127.0.0.1:9/dal"), token: Redacted.make(TOKEN) })
      assert.strictEqual(s.url, "http://127.0.0.1:9/dal/")
      assert.deepStrictEqual(s.data, {})
      assert.notInclude(JSON.stringify(s), TOKEN)
      assert.notInclude(String(s.token), TOKEN)
      const bad = yield* DalSettings.make({ url: "http://h", token: Redacted.make(TOKEN), maxWorkers: 2.5 }).pipe(
        Effect.flip
      )
      assert.strictEqual(bad.message, "invalid DAL settings: maxWorkers: must be an integer from 1 to 1024")
    }))
})

describe("AssetPolicy", () => {
  it.effect("decodes the tutorial's policy and keeps fields it does not know", () =>
    Effect.gen(function*() {
      const policy = yield* Schema.decodeUnknown(AssetPolicy.AssetPolicy)({
        permissions: { explore: true, restrict_functions: true, allowed_function_names: ["max_column"], future: 1 },
        privacy: { noise: "laplace" },
        model_allowlist: ["nnunet@1.0.0"]
      })
      assert.deepStrictEqual(policy.permissions.allowed_function_names, ["max_column"])
      assert.strictEqual(policy.permissions["future"], 1)
      assert.deepStrictEqual(policy["model_allowlist"], ["nnunet@1.0.0"])
      assert.isTrue(AssetPolicy.mayRun(policy, "max_column"))
      assert.isFalse(AssetPolicy.mayRun(policy, "mean_column"))
    }))

  it("mayRun fails closed", () => {
    const policy = (permissions: AssetPolicy.Permissions): AssetPolicy.AssetPolicy => ({ permissions })
    assert.isTrue(AssetPolicy.mayRun(policy({ restrict_functions: false }), "anything"))
    assert.isFalse(AssetPolicy.mayRun(policy({}), "anything"))
    assert.isFalse(AssetPolicy.mayRun(policy({ restrict_functions: true }), "anything"))
    assert.isTrue(AssetPolicy.mayRun(policy({ allowed_function_names: ["f"] }), "f"))
  })
})
