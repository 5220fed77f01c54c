import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { readFileSync } from "node:fs"
import { ServerConfig } from "../src/index.js"
import { program as example } from "./fixtures/readme.example.js"
import { program as job } from "./fixtures/readme.job.js"

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
// The README shows each example file as a user writes it: importing the package, not its sources.
const shown = (file: string) =>
  readFileSync(new URL(`./fixtures/${file}`, import.meta.url), "utf8")
    .replace(`from "../../src/index.js"`, `from "@fedkit/flare-config"`)

describe("README", () => {
  it("opens with test/fixtures/readme.example.ts (at most 10 lines), and shows readme.job.ts verbatim", () => {
    const [first] = readme.split("```ts\n").slice(1)
    assert.strictEqual(first?.slice(0, first.indexOf("```")), shown("readme.example.ts"))
    assert.isAtMost(shown("readme.example.ts").trimEnd().split("\n").length, 10)
    assert.include(readme, "```ts\n" + shown("readme.job.ts") + "```")
  })

  it.effect("the opening example writes a server config that reads back", () =>
    Effect.gen(function*() {
      const files = yield* example
      const text = files[ServerConfig.FILE] ?? ""
      assert.deepStrictEqual(Object.keys(files), ["config_fed_server.json"])
      assert.include(text, `"num_rounds": 3`)
      assert.include(text, `"id": "persistor"`)
      assert.isTrue(Either.isRight(ServerConfig.fromJson(text)))
    }))

  it.effect("the job example runs and writes what the README says", () =>
    Effect.gen(function*() {
      const { files, files28 } = yield* job
      assert.deepStrictEqual(Object.keys(files), [
        "meta.json",
        "app/config/config_fed_server.json",
        "app/config/config_fed_client.json",
        "app/custom/train.py"
      ])
      assert.include(files["app/config/config_fed_server.json"], `"num_rounds": 3`)
      assert.include(files28["app/config/config_fed_client.json"], "ClientAPILauncherExecutor")
      assert.strictEqual(files["app/config/config_fed_server.json"], files28["app/config/config_fed_server.json"])
    }))
})
