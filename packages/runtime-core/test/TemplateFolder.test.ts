import { afterEach, assert, describe, it } from "@effect/vitest"
import { ServerConfig } from "@fedkit/flare-config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { defineRuntime, type TemplateFailed } from "../src/Runtime.js"
import * as TemplateFolder from "../src/TemplateFolder.js"
import { Payload } from "./fixtures/contractRuntime.js"
import templated from "./fixtures/templated/runtime.js"

const fixture = new URL("./fixtures/templated/templates/", import.meta.url)
const temporary: Array<string> = []
const tempFolder = (files: Readonly<Record<string, string | Uint8Array>>): string => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), "rc-templates-"))
  temporary.push(folder)
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(folder, name)), { recursive: true })
    fs.writeFileSync(path.join(folder, name), content)
  }
  return folder
}
afterEach(() => {
  for (const folder of temporary.splice(0)) fs.rmSync(folder, { recursive: true, force: true })
})

const failure = (folder: string | URL, declarations: TemplateFolder.Declarations) => {
  const result = TemplateFolder.loadEither(folder, declarations)
  assert.isTrue(Either.isLeft(result))
  return (result as Either.Left<TemplateFolder.TemplateFolderError, unknown>).left
}

describe("TemplateFolder", () => {
  it("loads and decodes the quickstart layout with flare-config's schemas", () => {
    const loaded = Either.getOrThrow(TemplateFolder.loadEither(fixture, TemplateFolder.standard()))
    assert.strictEqual(loaded.meta.name, "fedavg-from-templates")
    assert.strictEqual(loaded.server.workflows[0].path, "nvflare.app_common.workflows.fedavg.FedAvg")
    assert.strictEqual(loaded.client.executors[0].tasks[0], "*")
  })

  it("freezes what it loads", () => {
    const loaded = Either.getOrThrow(TemplateFolder.loadEither(fixture, TemplateFolder.standard()))
    assert.isTrue(Object.isFrozen(loaded.server.workflows[0].args))
    assert.throws(() => {
      ;(loaded.server.workflows[0].args as Record<string, unknown>)["num_rounds"] = 99
    })
  })

  it("reports every problem of every file, with the file and the path in it", () => {
    const folder = tempFolder({
      "config_fed_server.json": "{\"format_version\": 3, \"workflows\": []}",
      "meta.json": "{\"name\": \"x\", \"deploy_map\": {}, \"name\": \"y\"}",
      "config_fed_client.json": "{\"format_version\": 2,"
    })
    const error = failure(folder, TemplateFolder.standard())
    assert.strictEqual(error._tag, "TemplateFolderError")
    const paths = error.issues.map((issue) => issue.path)
    assert.include(paths, "meta.json:name")
    assert.include(paths, "config_fed_server.json:format_version")
    assert.isTrue(paths.some((p) => p.startsWith("config_fed_server.json:workflows")))
    assert.include(paths, "config_fed_client.json")
    assert.include(error.message, folder)
  })

  it("reports missing files and folders", () => {
    const folder = tempFolder({})
    assert.deepStrictEqual(failure(folder, { server: TemplateFolder.serverConfig() }).issues, [
      { path: "config_fed_server.json", message: "is missing" }
    ])
    assert.deepStrictEqual(failure(path.join(folder, "nope"), {}).issues, [{
      path: "(root)",
      message: "the folder does not exist"
    }])
  })

  it("refuses symbolic links and paths that leave the folder", () => {
    const outside = tempFolder({ "config_fed_server.json": "{}" })
    const folder = tempFolder({})
    fs.symlinkSync(path.join(outside, "config_fed_server.json"), path.join(folder, "config_fed_server.json"))
    fs.symlinkSync(outside, path.join(folder, "linked"))
    const error = failure(folder, {
      direct: TemplateFolder.serverConfig(),
      parent: TemplateFolder.serverConfig("linked/config_fed_server.json"),
      traversal: TemplateFolder.text("../secret.txt"),
      absolute: TemplateFolder.text("/etc/passwd")
    })
    assert.deepStrictEqual(error.issues.map((issue) => issue.path), [
      "config_fed_server.json",
      "linked/config_fed_server.json",
      "../secret.txt",
      "/etc/passwd"
    ])
    assert.include(error.issues[0]?.message, "symbolic link")
    assert.include(error.issues[1]?.message, "outside the template folder")
  })

  it("reads text templates as strict UTF-8", () => {
    const folder = tempFolder({ "ok.py": "print('ünï')\n", "bad.py": new Uint8Array([0x70, 0xff]) })
    assert.deepStrictEqual(Either.getOrThrow(TemplateFolder.loadEither(folder, { ok: TemplateFolder.text("ok.py") })), {
      ok: "print('ünï')\n"
    })
    assert.deepStrictEqual(failure(folder, { bad: TemplateFolder.text("bad.py") }).issues, [
      { path: "bad.py", message: "the file is not valid UTF-8 text" }
    ])
  })

  it("decodes JSON templates with any schema", () => {
    const folder = tempFolder({ "settings.json": "{\"rounds\": 3}" })
    const Settings = Schema.Struct({ rounds: Schema.Int })
    const loaded = Either.getOrThrow(
      TemplateFolder.loadEither(folder, { settings: TemplateFolder.json("settings.json", Settings) })
    )
    assert.deepStrictEqual(loaded.settings, { rounds: 3 })
  })

  describe("in a runtime", () => {
    const copyOfFixture = (trainer: string) =>
      tempFolder({
        "config_fed_server.json": fs.readFileSync(new URL("config_fed_server.json", fixture), "utf8"),
        "config_fed_client.json": fs.readFileSync(new URL("config_fed_client.json", fixture), "utf8"),
        "meta.json": fs.readFileSync(new URL("meta.json", fixture), "utf8"),
        "train.py": trainer
      })

    it("loads once and renders from the cached, unmodified templates", () => {
      const folder = copyOfFixture("print('v1')\n")
      const runtime = templated.withTemplateFolder(folder)
      const payload = runtime.parse("{\"optimizer_name\": \"adam\"}")
      const first = runtime.template(payload, { "ds-1": "site-1" })
      fs.writeFileSync(path.join(folder, "train.py"), "print('v2')\n")
      assert.deepStrictEqual(runtime.template(payload, { "ds-1": "site-1" }), first)
      assert.strictEqual(first["app/custom/train.py"], "print('v1')\n")
    })

    it("takes a folder per call, as the Python contract's template_folder keyword does", () => {
      const runtime = templated.withTemplateFolder(copyOfFixture("print('default')\n"))
      const payload = runtime.parse("{\"optimizer_name\": \"adam\"}")
      const other = runtime.template(payload, { "ds-1": "site-1" }, {
        templateFolder: copyOfFixture("print('other')\n")
      })
      assert.strictEqual(other["app/custom/train.py"], "print('other')\n")
    })

    it("fails with TemplateFolderError when no folder is known", () => {
      const error = Effect.runSync(
        Effect.flip(templated.templateEffect(templated.parse("{\"optimizer_name\": \"adam\"}"), { a: "b" }))
      )
      assert.strictEqual(error._tag, "TemplateFolderError")
      assert.include(error.message, "loadRuntimeModule")
    })

    it("a template that tries to mutate a loaded template fails instead of changing the next render", () => {
      const runtime = defineRuntime({
        payload: Payload,
        templateFolder: fixture,
        templates: { server: TemplateFolder.serverConfig() },
        template: (_, { templates }) => {
          ;(templates.server.workflows[0].args as Record<string, unknown>)["num_rounds"] = 1000
          return {}
        }
      })
      const error = Effect.runSync(
        Effect.flip(runtime.templateEffect(runtime.parse("{\"optimizer_name\": \"adam\"}"), { a: "b" }))
      )
      assert.strictEqual(error._tag, "TemplateFailed")
      assert.include((error as TemplateFailed).reason, "TypeError")
      assert.deepStrictEqual(
        Either.getOrThrow(TemplateFolder.loadEither(fixture, { server: TemplateFolder.serverConfig() })).server
          .workflows[0].args,
        Either.getOrThrow(ServerConfig.fromJson(fs.readFileSync(new URL("config_fed_server.json", fixture), "utf8")))
          .workflows[0].args
      )
    })
  })
})
