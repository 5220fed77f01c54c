import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { type InvalidRuntimeModule, loadRuntimeModule } from "../src/ModuleLoader.js"
import type * as Rejection from "../src/Rejection.js"
import { defineRuntime, type Runtime } from "../src/Runtime.js"
import * as contractModule from "./fixtures/contractRuntime.js"
import * as handwritten from "./fixtures/handwritten.js"
import * as templatedModule from "./fixtures/templated/runtime.js"

const dataset2gw = { "ds-1": "site-1", "ds-2": "site-2" }

const invalid = (namespace: unknown): InvalidRuntimeModule => {
  const result = loadRuntimeModule(namespace)
  assert.isTrue(Either.isLeft(result))
  return (result as Either.Left<InvalidRuntimeModule, unknown>).left
}

const loaded = (namespace: unknown, options?: Parameters<typeof loadRuntimeModule>[1]): Runtime<unknown> =>
  Either.getOrThrow(loadRuntimeModule(namespace, options))

const thrown = (f: () => unknown): unknown => {
  try {
    f()
  } catch (error) {
    return error
  }
  assert.fail("expected a throw")
}

describe("loadRuntimeModule", () => {
  it("takes a default export made with defineRuntime", () => {
    const runtime = loaded(contractModule)
    assert.strictEqual(runtime, contractModule.default)
  })

  it("gives a default runtime without a template folder the templates/ folder beside the module", () => {
    const moduleUrl = new URL("./fixtures/templated/runtime.ts", import.meta.url)
    const runtime = loaded(templatedModule, { moduleUrl })
    assert.strictEqual(runtime.templateFolder, path.join(path.dirname(moduleUrl.pathname), "templates"))
    const files = runtime.template(runtime.parse("{\"optimizer_name\": \"adam\"}"), dataset2gw)
    assert.include(files["app/custom/train.py"], "flare.init()")
  })

  it("keeps a template folder the definition set", () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), "rc-"))
    const runtime = defineRuntime({
      payload: contractModule.Payload,
      templateFolder: folder,
      template: () => ({})
    })
    assert.strictEqual(loaded({ default: runtime }, { moduleUrl: "/elsewhere/runtime.js" }).templateFolder, folder)
    fs.rmSync(folder, { recursive: true })
  })

  it("takes three named functions, screening bodies before the module's parse sees them", () => {
    const runtime = loaded(handwritten)
    assert.deepStrictEqual(runtime.parse("{\"num_rounds\": 5}"), { num_rounds: 5 })
    const files = runtime.template(runtime.parse("{}"), dataset2gw)
    assert.strictEqual(JSON.parse(files["meta.json"]!).min_clients, 2)
    for (
      const [body, tag] of [["{\"num_rounds\": 5,}", "MalformedJson"], ["{\"__proto__\": {}}", "InvalidPayload"], [
        "[]",
        "InvalidPayload"
      ]] as const
    ) {
      assert.strictEqual((thrown(() => runtime.parse(body)) as Rejection.PayloadRejected)._tag, tag)
    }
  })

  it("reports what a hand-written module throws as the user's problem, keeping typed rejections", () => {
    const runtime = loaded(handwritten)
    const thrownError = thrown(() => runtime.parse("{\"num_rounds\": 0}")) as Rejection.InvalidPayload
    assert.deepStrictEqual(thrownError.issues, [{
      path: "(root)",
      message: "num_rounds must be an integer from 1 to 100"
    }])
    const typed = thrown(() => runtime.parse("{\"x\": 1}")) as Rejection.InvalidPayload
    assert.deepStrictEqual(typed.issues, [{ path: "(root)", message: "only num_rounds may be given" }])
    const unlucky = thrown(() => runtime.validate({ num_rounds: 13 })) as Rejection.InvalidPayload
    assert.strictEqual(unlucky._tag, "InvalidPayload")
    assert.strictEqual(unlucky.message, "Invalid payload (1 problem): 13 rounds are unlucky.")
  })

  it("checks what a hand-written template returns", () => {
    const runtime = loaded({ ...handwritten, template: () => ({ "meta.json": "{\"name\": \"spliced\"}" }) })
    assert.strictEqual((thrown(() => runtime.template({}, dataset2gw)) as { _tag: string })._tag, "TemplateFailed")
    assert.strictEqual((thrown(() => runtime.template({}, {})) as { _tag: string })._tag, "InvalidDataset2Gw")
  })

  it("takes the functions from a default export object", () => {
    const runtime = loaded({ default: { ...handwritten } })
    assert.deepStrictEqual(runtime.parse("{}"), { num_rounds: 2 })
  })

  it("says exactly what is missing or wrong", () => {
    assert.deepStrictEqual(invalid({}).missing, ["parse", "validate", "template"])
    const partial = invalid({ parse: () => 1, template: "x" })
    assert.deepStrictEqual(partial.missing, ["validate"])
    assert.deepStrictEqual(partial.problems, ["template is a string, not a function"])
    assert.strictEqual(
      partial.message,
      "Not a runtime module: it does not export validate; template is a string, not a function. Export the functions " +
        "parse(body), validate(payload) and template(payload, dataset2gw), or a default export made with defineRuntime."
    )
    assert.deepStrictEqual(invalid({ default: 42 }).problems, [
      "the default export is a number, not a runtime made with defineRuntime"
    ])
    assert.deepStrictEqual(invalid({ default: { parse: () => 1 } }).problems, [
      "the default export is an object, not a runtime made with defineRuntime"
    ])
    assert.deepStrictEqual(invalid({ default: { parse: () => 1 } }).missing, ["validate", "template"])
    assert.deepStrictEqual(invalid(null).problems, ["the module is null"])
  })

  it("loads a module imported from disk", async () => {
    const url = pathToFileURL(path.join(path.dirname(new URL(import.meta.url).pathname), "fixtures", "handwritten.ts"))
    const runtime = loaded(await import(url.href), { moduleUrl: url })
    assert.deepStrictEqual(runtime.parse("{\"num_rounds\": 3}"), { num_rounds: 3 })
  })
})
