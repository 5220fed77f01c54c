import { NodeContext } from "@effect/platform-node"
import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as BreastCancer from "../src/BreastCancer.js"
import * as Federation from "../src/Federation.js"
import * as LocalRound from "../src/LocalRound.js"
import * as ModelVector from "../src/ModelVector.js"
import * as Samples from "../src/Samples.js"
import * as Split from "../src/Split.js"
import * as Standardization from "../src/Standardization.js"

const relative = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300)

const maxRelative = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((worst, value, i) => Math.max(worst, relative(value, b[i]!)), 0)

/** Cuts the rows into parts at the given sorted cut points (parts of at least one row). */
const partition = (samples: Samples.Samples, cuts: ReadonlyArray<number>) => {
  const bounds = [0, ...cuts, samples.count]
  return bounds.slice(1).map((end, i) =>
    Samples.select(samples, Array.from({ length: end - bounds[i]! }, (_, r) => bounds[i]! + r))
  )
}

const Cuts = FastCheck.uniqueArray(FastCheck.integer({ min: 1, max: 455 }), { minLength: 1, maxLength: 6 })
  .map((cuts) => [...cuts].sort((a, b) => a - b))

const settings: LocalRound.Settings = { optimizer: "adam", learningRate: 0.01, localEpochs: 2, batchSize: 32 }

layer(NodeContext.layer)("federated scaling and training on the Breast Cancer Wisconsin split", (it) => {
  const data = Effect.map(BreastCancer.load, (all) => Either.getOrThrow(Split.split(all)))

  it.effect("federated moments (count-weighted average of site moments) equal the central moments", () =>
    Effect.gen(function*() {
      const { train } = yield* data
      const central = Standardization.of(train)
      FastCheck.assert(
        FastCheck.property(Cuts, (cuts) => {
          const federated = Standardization.aggregate(partition(train, cuts).map(Standardization.of))
          assert.strictEqual(federated.count, central.count)
          // Equal up to float64 rounding of the sums (the algebra is exact).
          assert.isBelow(maxRelative(federated.mean, central.mean), 1e-13)
          assert.isBelow(maxRelative(federated.secondMoment, central.secondMoment), 1e-13)
          const a = Standardization.scaler(federated)
          const b = Standardization.scaler(central)
          assert.isBelow(maxRelative(a.scale, b.scale), 1e-9)
        }),
        { numRuns: 50 }
      )
    }))

  it.effect("the statistics round through float32 FedAvg gives the central scaling to float32 precision", () =>
    Effect.gen(function*() {
      const { shards, train } = yield* data
      const outcomes = shards.map((shard) =>
        Either.getOrThrow(LocalRound.run(ModelVector.initial(), shard.samples, settings, 0))
      )
      const global = Federation.fedAvg(outcomes.map((o) => ({ vector: o.vector, weight: o.samples })))
      assert.isTrue(ModelVector.hasStatistics(global))
      const federated = Standardization.scaler(ModelVector.statistics(global))
      const central = Standardization.scaler(Standardization.of(train))
      assert.isBelow(maxRelative(federated.mean, central.mean), 1e-6)
      assert.isBelow(maxRelative(federated.scale, central.scale), 1e-4)
    }))

  it("treats a constant feature as scale 1 instead of dividing by ~0", () => {
    const moments = {
      mean: new Float64Array(30).fill(3),
      secondMoment: new Float64Array(30).fill(Math.fround(9.0000001))
    }
    assert.deepStrictEqual(Array.from(Standardization.scaler(moments).scale), new Array(30).fill(1))
  })

  it.effect(
    "3 gateways, 10 rounds, adam lr 0.01: ≥ 0.93 held-out accuracy, within 2 points of the central baseline",
    () =>
      Effect.gen(function*() {
        const { shards, test, train } = yield* data
        const sites = shards.map((shard) => ({ name: shard.gateway, samples: shard.samples }))
        const federated = Either.getOrThrow(Federation.run({ sites, trainingRounds: 10, settings, heldOut: test }))
        const central = Either.getOrThrow(Federation.central({ train, trainingRounds: 10, settings, heldOut: test }))
        const fedAccuracy = federated.rounds.at(-1)!.heldOut!.accuracy
        const centralAccuracy = central.rounds.at(-1)!.heldOut!.accuracy
        assert.isAtLeast(fedAccuracy, 0.93)
        assert.isAtMost(Math.abs(fedAccuracy - centralAccuracy), 0.02)
        assert.strictEqual(federated.rounds.length, 11)
        assert.strictEqual(federated.rounds[0]!.phase, "statistics")
        // The global model's loss on the sites' own rows falls round after round.
        const losses = federated.rounds.slice(1).map((round) => round.metrics!.global_loss)
        losses.slice(1).forEach((loss, i) => assert.isBelow(loss, losses[i]!))
      })
  )

  it.effect("sgd federates too (lr 0.1)", () =>
    Effect.gen(function*() {
      const { shards, test } = yield* data
      const sites = shards.map((shard) => ({ name: shard.gateway, samples: shard.samples }))
      const result = Either.getOrThrow(
        Federation.run({
          sites,
          trainingRounds: 10,
          settings: { ...settings, optimizer: "sgd", learningRate: 0.1 },
          heldOut: test
        })
      )
      assert.isAtLeast(result.rounds.at(-1)!.heldOut!.accuracy, 0.93)
    }))
})
