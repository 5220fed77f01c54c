import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url))

describe("gateway-trainer evaluate", () => {
  it("refuses a file that is not a saved global model in one line (exit 1), a bad command line by the CLI policy (exit 2)", () => {
    const dir = mkdtempSync(join(tmpdir(), "fedkit-evaluate-"))
    try {
      const file = join(dir, "model.npy")
      writeFileSync(file, "not a model")
      const run = spawnSync(process.execPath, [bin, "evaluate", file], { encoding: "utf8" })
      assert.strictEqual(run.status, 1)
      assert.strictEqual(run.stdout, "")
      assert.strictEqual(run.stderr, `gateway-trainer: ${file} is not a 1-D float32 .npy vector: no .npy magic\n`)
      const usage = spawnSync(process.execPath, [bin, "evaluate"], { encoding: "utf8" })
      assert.strictEqual(usage.status, 2)
      assert.strictEqual(usage.stderr, "gateway-trainer: missing argument <model.npy> (see gateway-trainer --help)\n")
      const typo = spawnSync(process.execPath, [bin, "evaluate", file, "--jsn"], { encoding: "utf8" })
      assert.strictEqual(typo.status, 2)
      assert.strictEqual(
        typo.stderr,
        "gateway-trainer: unknown option --jsn (did you mean --json?) (see gateway-trainer --help)\n"
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
