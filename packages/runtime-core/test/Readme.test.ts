import { assert, describe, it, vi } from "@effect/vitest"
import { readFileSync } from "node:fs"

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
const fixture = (file: string) => readFileSync(new URL(`./fixtures/${file}`, import.meta.url), "utf8")
const tsBlocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]!)
// A runtime module from its first export on: what follows its imports, which differ (the fixture's are relative).
const moduleBody = (code: string) => code.slice(code.indexOf("\nexport const "))

describe("README", () => {
  it("opens with test/fixtures/readme.example.ts (at most 10 lines), importing the runtime.ts shown under Library", () => {
    const example = fixture("readme.example.ts").replace(`from "./contractRuntime.js"`, `from "./runtime.js"`)
    assert.strictEqual(tsBlocks[0], example)
    assert.isAtMost(example.trimEnd().split("\n").length, 10)
    const runtimeModule = tsBlocks.find((code) => code.startsWith("// runtime.ts\n"))
    assert.isDefined(runtimeModule)
    assert.strictEqual(moduleBody(runtimeModule!), moduleBody(fixture("contractRuntime.ts")))
  })

  it("the opening example prints what its last comment says", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined)
    try {
      await import("./fixtures/readme.example.js")
      const printed = log.mock.calls.map((args) => args.join(" "))
      assert.deepStrictEqual(printed, [
        "10 app/config/config_fed_client.json app/config/config_fed_server.json app/custom/train.py meta.json"
      ])
      assert.include(fixture("readme.example.ts"), `// ${printed[0]}\n`)
    } finally {
      log.mockRestore()
    }
  })
})
