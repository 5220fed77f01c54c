// The README's opening example, held to the README and run: it runs the smoke job in the real `nvflare simulator`
// (the project's one end-to-end proof that the pinned environment runs FLARE jobs) and prints what FLARE left.
import { assert, describe, it, vi } from "@effect/vitest"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
const example = readFileSync(new URL("./fixtures/readme.example.ts", import.meta.url), "utf8")

describe("README", () => {
  it("opens with test/fixtures/readme.example.ts (at most 10 lines), importing the package by its name", () => {
    const shown = example.replace(`from "../../src/index.js"`, `from "@fedkit/flare-toolchain"`)
    const [first] = readme.split("```ts\n").slice(1)
    assert.strictEqual(first?.slice(0, first.indexOf("```")), shown)
    assert.isAtMost(shown.trimEnd().split("\n").length, 10)
  })

  it("the example runs the smoke job in nvflare simulator and prints what its last comment says", async () => {
    // The example's workspace is made under os.tmpdir(): point that at a folder of this test's, removed afterwards.
    const scratch = mkdtempSync(join(tmpdir(), "fedkit-flare-readme-"))
    const previousTmpdir = process.env["TMPDIR"]
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined)
    try {
      process.env["TMPDIR"] = scratch
      await import("./fixtures/readme.example.js")
      const printed = log.mock.calls.map((args) => args.join(" "))
      // Both clients add 1 per round and FedAvg averages them, so each of the 3 rounds adds exactly 1.
      assert.deepStrictEqual(printed, ["NVFlare version is 2.9.0 FINISHED:COMPLETED [[4,5,6],[7,8,9],[10,11,12]]"])
      assert.include(example, `// ${printed[0]}\n`)
    } finally {
      log.mockRestore()
      if (previousTmpdir === undefined) delete process.env["TMPDIR"]
      else process.env["TMPDIR"] = previousTmpdir
      rmSync(scratch, { recursive: true, force: true })
    }
  }, 300_000)
})
