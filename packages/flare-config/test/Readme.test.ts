import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { program } from "./readme.example.js"

describe("README", () => {
  it("shows test/readme.example.ts verbatim (with the package's import path)", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
    const example = readFileSync(new URL("./readme.example.ts", import.meta.url), "utf8")
      .replace(`from "../src/index.js"`, `from "@fedkit/flare-config"`)
    assert.include(readme, "```ts\n" + example + "```")
  })

  it.effect("the example runs and writes what the README says", () =>
    Effect.gen(function*() {
      const { files, files28 } = yield* program
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
