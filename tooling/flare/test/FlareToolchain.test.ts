import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as FlareToolchain from "../src/FlareToolchain.js"

const tempDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), prefix))),
    (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  )

describe("FlareToolchain.locate", () => {
  it.scoped("refuses a folder that is not a finished environment, and says how to make one", () =>
    Effect.gen(function*() {
      const empty = yield* tempDir("fedkit-no-venv-")
      const error = yield* FlareToolchain.locate(empty).pipe(Effect.flip)
      assert.strictEqual(error._tag, "FlareToolchainError")
      assert.include(error.message, empty)
      assert.include(error.message, "tooling/flare/bootstrap.mjs")
    }))

  it.scoped("refuses a finished-looking folder without nvflare, naming what is missing", () =>
    Effect.gen(function*() {
      const venv = yield* tempDir("fedkit-half-venv-")
      yield* Effect.promise(() => writeFile(join(venv, FlareToolchain.STAMP_FILE), "{}"))
      const error = yield* FlareToolchain.locate(venv).pipe(Effect.flip)
      assert.include(error.message, "python is missing")
    }))
})

// The smoke job's run in nvflare simulator is the README's opening example (test/Readme.test.ts).
layer(FlareToolchain.layer, { excludeTestServices: true })("the project's FLARE environment", (it) => {
  it.effect("nvflare --version reports the pinned release", () =>
    Effect.gen(function*() {
      const version = yield* FlareToolchain.nvflareVersion
      assert.include(version, FlareToolchain.PINNED_NVFLARE_VERSION)
    }))
})
