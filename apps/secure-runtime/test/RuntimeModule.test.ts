import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Conformance } from "@fedkit/runtime-core/testing"
import * as Effect from "effect/Effect"
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as RuntimeModule from "../src/RuntimeModule.js"
import { fixture, SAMPLES } from "./support/fixtures.js"

const load = (path: string | undefined) => RuntimeModule.load(path).pipe(Effect.provide(NodeContext.layer))

describe("RuntimeModule", () => {
  it.effect("loads a module from its file or its folder (.js, then .mjs), with templates beside it", () =>
    Effect.gen(function*() {
      const good = yield* load(fixture("good"))
      assert.match(good.path, /good\/secure_runtime_service\.js$/)
      assert.strictEqual(good.runtime.templateFolder, join(fixture("good"), "templates"))
      const throwing = yield* load(fixture("throwing-template"))
      assert.match(throwing.path, /secure_runtime_service\.mjs$/)
    }))

  it.effect("says exactly which contract function is missing", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(load(fixture("missing-export")))
      assert.strictEqual(error._tag, "RuntimeModuleError")
      assert.match(error.message, /it does not export template\. Export the functions parse\(body\), validate/)
    }))

  it.effect("reports a module that is absent, not a module, or fails to import", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "fedkit-sr-module-"))
      assert.match((yield* Effect.flip(load(join(dir, "nope.js")))).message, /no such file or folder/)
      assert.match(
        (yield* Effect.flip(load(dir))).message,
        /no secure_runtime_service\.js or secure_runtime_service\.mjs/
      )
      writeFileSync(join(dir, "secure_runtime_service.mjs"), "export const parse = (\n")
      assert.match((yield* Effect.flip(load(dir))).message, /importing it failed: /)
      writeFileSync(join(dir, "numbers.mjs"), "export const parse = 1, validate = () => {}, template = () => ({})\n")
      assert.match((yield* Effect.flip(load(join(dir, "numbers.mjs")))).message, /parse is a number, not a function/)
    }))

  it.effect("defaults to /usr/secure_runtime/src/secure_runtime", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(load(undefined))
      assert.include(error.message, RuntimeModule.DEFAULT_DIR)
    }))

  it.effect("loads a copy outside the package (no package.json: ESM detected from the syntax)", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "fedkit-sr-module-"))
      mkdirSync(join(dir, "secure_runtime"))
      copyFileSync(
        join(fixture("throwing-template"), "secure_runtime_service.mjs"),
        join(dir, "secure_runtime", "secure_runtime_service.js")
      )
      const loaded = yield* load(join(dir, "secure_runtime"))
      assert.strictEqual(loaded.runtime.templateFolder, join(dir, "secure_runtime", "templates"))
    }))
})

describe("conformance kit on the fixture runtimes", () => {
  it.effect("the reference runtime passes every check, the full hostile corpus included", () =>
    Effect.gen(function*() {
      const { runtime } = yield* load(fixture("good"))
      const report = yield* Conformance.check(runtime, { samples: SAMPLES })
      assert.strictEqual(report.samples, 2)
      assert.isAtLeast(report.corpus.total, 200)
      assert.strictEqual(report.corpus.rejected + report.corpus.rendered, report.corpus.total)
    }))

  it.effect("a throwing template fails the sample renders, and nothing else", () =>
    Effect.gen(function*() {
      const { runtime } = yield* load(fixture("throwing-template"))
      const report = yield* Conformance.run(runtime, { samples: [{ num_rounds: 2 }] })
      assert.deepStrictEqual(report.findings.map((finding) => [finding.check, finding.subject]), [
        ["sample-renders", "sample[0]"]
      ])
      assert.match(report.findings[0]!.message, /TemplateFailed: .*the template exploded/)
    }))
})
