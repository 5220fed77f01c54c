import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url))

describe("gateway-trainer evaluate", () => {
  it("refuses a file that is not a saved global model, or no file, in one line, with exit 1 (usage: CliPolicy.test.ts)", () => {
    const dir = mkdtempSync(join(tmpdir(), "fedkit-evaluate-"))
    try {
      const file = join(dir, "model.npy")
      writeFileSync(file, "not a model")
      const run = spawnSync(process.execPath, [bin, "evaluate", file], { encoding: "utf8" })
      assert.strictEqual(run.status, 1)
      assert.strictEqual(run.stdout, "")
      assert.strictEqual(run.stderr, `gateway-trainer: ${file} is not a 1-D float32 .npy vector: no .npy magic\n`)
      const missing = spawnSync(process.execPath, [bin, "evaluate", join(dir, "absent.npy")], { encoding: "utf8" })
      assert.strictEqual(missing.status, 1)
      assert.strictEqual(
        missing.stderr,
        `gateway-trainer: ${join(dir, "absent.npy")} is not a 1-D float32 .npy vector: there is no such file; ` +
          "give the path of a saved global model (models/server.npy)\n"
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
