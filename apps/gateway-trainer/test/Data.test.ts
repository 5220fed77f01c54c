import { NodeContext } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import * as BreastCancer from "../src/BreastCancer.js"
import * as CsvShard from "../src/CsvShard.js"
import * as Samples from "../src/Samples.js"
import * as Split from "../src/Split.js"

// scikit-learn 1.9.1, sklearn/datasets/data/breast_cancer.csv (see data/NOTICE.md).
const FIXTURE_SHA256 = "fed3eb72d0575ef6192293f5093c6e801b1476b577d0386bf4455504522172ed"

const rowKey = (samples: Samples.Samples, row: number) =>
  `${Array.from(samples.features.subarray(row * 30, row * 30 + 30)).join(",")}|${samples.labels[row]}`
const rowKeys = (samples: Samples.Samples) => Array.from({ length: samples.count }, (_, row) => rowKey(samples, row))

layer(NodeContext.layer)("the committed fixture", (it) => {
  it.effect("is scikit-learn's file, byte for byte: 569 rows, 212 malignant, 357 benign", () =>
    Effect.gen(function*() {
      assert.strictEqual(
        createHash("sha256").update(readFileSync(BreastCancer.FIXTURE_PATH)).digest("hex"),
        FIXTURE_SHA256
      )
      const all = yield* BreastCancer.load
      assert.strictEqual(all.count, BreastCancer.SAMPLE_COUNT)
      assert.deepStrictEqual(Samples.classCounts(all), [212, 357])
      // First row of the source: mean radius 17.99, worst fractal dimension 0.1189, malignant.
      assert.strictEqual(all.features[0], 17.99)
      assert.strictEqual(all.features[29], 0.1189)
      assert.strictEqual(all.labels[0], 0)
    }))

  it.effect("rejects a file whose header announces another row count", () =>
    Effect.gen(function*() {
      const error = yield* BreastCancer.parse("3,30,malignant,benign\n", "x.csv").pipe(Effect.flip)
      assert.include(error.message, "announces 3 rows but the file has 0")
    }))

  it.effect("splits deterministically into a stratified test set and three non-identical shards", () =>
    Effect.gen(function*() {
      const all = yield* BreastCancer.load
      const split = Either.getOrThrow(Split.split(all))
      assert.deepStrictEqual(rowKeys(Either.getOrThrow(Split.split(all)).test), rowKeys(split.test))
      // 20 % of each class.
      assert.deepStrictEqual(Samples.classCounts(split.test), [42, 71])
      // Every row exactly once across test and shards.
      const everything = [...rowKeys(split.test), ...split.shards.flatMap((shard) => rowKeys(shard.samples))]
      assert.deepStrictEqual([...everything].sort(), rowKeys(all).sort())
      const counts = split.shards.map((shard) => Samples.classCounts(shard.samples))
      assert.deepStrictEqual(counts, [[26, 157], [42, 86], [102, 43]])
      // Non-identical: sizes and malignant shares all differ, and each has both classes.
      const shares = counts.map(([m, b]) => m / (m + b))
      assert.strictEqual(new Set(counts.map(([m, b]) => m + b)).size, 3)
      assert.isBelow(shares[0]!, 0.2)
      assert.isAbove(shares[2]!, 0.6)
      assert.strictEqual(split.train.count, 456)
      // Another seed gives another split.
      const other = Either.getOrThrow(Split.split(all, { ...Split.defaults, seed: 1 }))
      assert.notDeepEqual(rowKeys(other.test), rowKeys(split.test))
    }))

  it.effect("refuses plans that leave a gateway without a class or do not add up", () =>
    Effect.gen(function*() {
      const all = yield* BreastCancer.load
      const noBenign = Split.split(all, {
        ...Split.defaults,
        shares: [{ gateway: "a", malignant: 0.5, benign: 0 }, { gateway: "b", malignant: 0.5, benign: 1 }]
      })
      assert.isTrue(Either.isLeft(noBenign))
      const notOne = Split.split(all, { ...Split.defaults, shares: [{ gateway: "a", malignant: 0.5, benign: 1 }] })
      assert.isTrue(Either.isLeft(notOne) && notOne.left.message.includes("malignant shares must sum to 1"))
    }))
})

describe("CsvShard", () => {
  const finite = FastCheck.double({ noNaN: true, noDefaultInfinity: true })
  const SamplesArbitrary = FastCheck.integer({ min: 1, max: 12 }).chain((count) =>
    FastCheck.record({
      features: FastCheck.array(finite, { minLength: count * 30, maxLength: count * 30 }),
      labels: FastCheck.array(FastCheck.integer({ min: 0, max: 1 }), { minLength: count, maxLength: count })
    }).map(({ features, labels }): Samples.Samples => ({
      count,
      features: Float64Array.from(features),
      labels: Uint8Array.from(labels)
    }))
  )
  const sample = (count: number, seed: number) =>
    FastCheck.sample(SamplesArbitrary.filter((s) => s.count === count), { numRuns: 1, seed })[0]!

  it.prop(
    "encode then decode gives back the same numbers (shortest round-trip text)",
    [SamplesArbitrary],
    ([samples]) => {
      const decoded = Either.getOrThrow(CsvShard.decode(CsvShard.encode(samples)))
      assert.deepStrictEqual(rowKeys(decoded), rowKeys(samples))
    },
    { fastCheck: { numRuns: 50 } }
  )

  it("reports the line and the kind of problem, never the offending cell", () => {
    const good = CsvShard.encode(sample(3, 5)).split("\n")
    const cases: Array<[string, number, string]> = [
      ["mean radius,secret header,target", 1, "the header"],
      [[good[0], good[1], good[2]!.replace(/^[^,]+/, "4.2e1x-PATIENT-ID")].join("\n"), 3, "finite decimal"],
      [[good[0], good[1]!.replace(/,[01]$/, ",7")].join("\n"), 2, "target is not 0 or 1"],
      [[good[0], good[1]!.split(",").slice(1).join(",")].join("\n"), 2, "31 cells"],
      [[good[0], good[1]!.replace(/^[^,]+/, "Infinity")].join("\n"), 2, "finite decimal"],
      [good[0]!, 2, "no rows"]
    ]
    for (const [text, line, problem] of cases) {
      const result = CsvShard.decode(text)
      assert.isTrue(Either.isLeft(result))
      if (Either.isRight(result)) continue
      assert.strictEqual(result.left.line, line)
      assert.include(result.left.message, problem)
      assert.notInclude(result.left.message, "PATIENT")
      assert.notInclude(result.left.message, "secret")
    }
  })

  it("accepts CRLF line endings and surrounding spaces", () => {
    const text = CsvShard.encode(sample(2, 9)).replaceAll("\n", "\r\n").replaceAll(",", " , ")
    assert.strictEqual(Either.getOrThrow(CsvShard.decode(text)).count, 2)
  })
})
