import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Conformance from "../src/Conformance.js"
import { loadRuntimeModule } from "../src/ModuleLoader.js"
import type { Runtime } from "../src/Runtime.js"
import contract from "./fixtures/contractRuntime.js"
import * as handwritten from "./fixtures/handwritten.js"
import templated from "./fixtures/templated/runtime.js"
import * as vulnerable from "./fixtures/vulnerable.js"

const checks = (report: Conformance.Report) => [...new Set(report.findings.map((finding) => finding.check))].sort()

describe("Conformance", () => {
  it.effect("passes the contract runtime", () =>
    Effect.gen(function*() {
      const report = yield* Conformance.check(contract, {
        samples: [
          { optimizer_name: "adam" },
          "{\"optimizer_name\": \"sgd\", \"learning_rate\": 0.1, \"num_federation_rounds\": 3}"
        ]
      })
      assert.deepStrictEqual(report.findings, [])
      assert.strictEqual(report.samples, 2)
      assert.isAtLeast(report.corpus.total, 200)
      // Only in-range numbers get through (5e-324 as a learning rate, 1E2 rounds): no string reaches the job.
      assert.isBelow(report.corpus.rendered, 15)
      assert.strictEqual(report.corpus.rendered + report.corpus.rejected, report.corpus.total)
    }))

  it.effect("passes a runtime that renders free text safely, and traces the hostile strings it accepts", () =>
    Effect.gen(function*() {
      const runtime = templated.withTemplateFolder(new URL("./fixtures/templated/templates/", import.meta.url))
      const report = yield* Conformance.check(runtime, {
        samples: [{ optimizer_name: "adam", run_name: "baseline run" }]
      })
      assert.deepStrictEqual(report.findings, [])
      assert.isAbove(report.corpus.rendered, 10)
      assert.strictEqual(report.corpus.rendered + report.corpus.rejected, report.corpus.total)
    }))

  it.effect("passes a hand-written module", () =>
    Effect.gen(function*() {
      const runtime = Either.getOrThrow(loadRuntimeModule(handwritten))
      const report = yield* Conformance.check(runtime, { samples: [{ num_rounds: 3 }] })
      assert.deepStrictEqual(report.findings, [])
    }))

  const findings = <A>(runtime: Runtime<A>) => Conformance.run(runtime, { samples: [{ run_name: "baseline run" }] })

  it.effect("finds user text that FLARE would substitute", () =>
    Effect.gen(function*() {
      const report = yield* findings(vulnerable.unchecked)
      assert.deepStrictEqual(checks(report), ["flare-variable"])
      const ids = report.findings.map((finding) => finding.subject)
      assert.include(ids, "injection/run_name/flare-site-name")
      assert.include(ids, "injection/run_name/flare-secret-env")
    }))

  it.effect("finds JSON built by splicing text", () =>
    Effect.gen(function*() {
      const report = yield* findings(vulnerable.splicing)
      const found = checks(report)
      assert.include(found, "hostile-crash")
      assert.include(found, "hostile-key")
      assert.isTrue(
        report.findings.some((finding) =>
          finding.subject === "injection/run_name/json-breakout-key" && finding.check === "hostile-key"
        ),
        "the breakout that still parses is caught"
      )
    }))

  it.effect("finds user text pasted into a longer string", () =>
    Effect.gen(function*() {
      const report = yield* findings(vulnerable.concatenating)
      assert.include(checks(report), "spliced")
      assert.include(checks(report), "flare-variable")
    }))

  it.effect("finds renders that are not deterministic", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(checks(yield* findings(vulnerable.counting)), [
        "dataset2gw-order",
        "deterministic",
        "round-trip"
      ])
      assert.deepStrictEqual(checks(yield* findings(vulnerable.orderDependent)), [
        "dataset2gw-order"
      ])
    }))

  it.effect("finds rejections that echo the input", () =>
    Effect.gen(function*() {
      const report = yield* Conformance.run(Either.getOrThrow(loadRuntimeModule(vulnerable.echoing)), {
        samples: [{ a: 1 }]
      })
      assert.include(checks(report), "rejection-message")
      assert.include(checks(report), "sample-parses")
    }))

  it.effect("fails with every finding, listed in the message", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Conformance.check(contract, { samples: [{ optimizer_name: "nadam" }], corpus: [] })
      )
      assert.strictEqual(error._tag, "ConformanceFailed")
      assert.deepStrictEqual(error.findings.map((finding) => finding.check), ["sample-parses"])
      assert.include(error.message, "[sample-parses] sample[0]: InvalidPayload: Invalid payload (1 problem)")
    }))
})
