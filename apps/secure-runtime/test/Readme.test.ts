import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { readFileSync } from "node:fs"
import { program } from "./fixtures/readme.example.js"

describe("README", () => {
  it("shows test/fixtures/readme.example.ts verbatim (with the package's import path), in at most 10 lines", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
    const example = readFileSync(new URL("./fixtures/readme.example.ts", import.meta.url), "utf8")
      .replace(`from "../../src/index.js"`, `from "@fedkit/secure-runtime"`)
    assert.include(readme, "```ts\n" + example + "```")
    assert.isAtMost(example.trimEnd().split("\n").length, 10)
  })

  it.effect("the example renders the fixture runtime's job, as the README says", () =>
    Effect.gen(function*() {
      const files = yield* program
      assert.deepStrictEqual(files, [
        "app/config/config_fed_client.json",
        "app/config/config_fed_server.json",
        "app/custom/client.py",
        "meta.json"
      ])
    }))
})
