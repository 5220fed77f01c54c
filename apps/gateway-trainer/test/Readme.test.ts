import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { files } from "./fixtures/readme.example.js"

describe("README", () => {
  it("shows test/fixtures/readme.example.ts verbatim (with the package's import path), in at most 10 lines", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
    const example = readFileSync(new URL("./fixtures/readme.example.ts", import.meta.url), "utf8")
      .replace(
        `from "../../src/secure_runtime/secure_runtime_service.js"`,
        `from "@fedkit/gateway-trainer/secure_runtime/secure_runtime_service"`
      )
    assert.include(readme, "```ts\n" + example + "```")
    assert.isAtMost(example.trimEnd().split("\n").length, 10)
  })

  it("the example renders the job files the README shows, for the one gateway it names", () => {
    assert.deepInclude(JSON.parse(files["meta.json"]!).deploy_map, { app: ["server", "gateway-1"] })
    assert.deepStrictEqual(Object.keys(files).sort(), [
      "app/config/config_fed_client.json",
      "app/config/config_fed_server.json",
      "meta.json"
    ])
  })
})
