import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Random from "../src/internal/random.js"
import * as LocalRound from "../src/LocalRound.js"
import * as LogisticRegression from "../src/LogisticRegression.js"
import * as ModelVector from "../src/ModelVector.js"
import * as Optimizer from "../src/Optimizer.js"
import * as Samples from "../src/Samples.js"

const D = Samples.FEATURE_COUNT

/** Standard-normal-ish features (sum of uniforms) and labels from a hidden linear rule with a little noise. */
const toy = (count: number, seed: number, noise = 0): LogisticRegression.Data => {
  const random = Random.make(seed)
  const normal = () => random.next() + random.next() + random.next() - 1.5
  const truth = Array.from({ length: D }, (_, j) => (j % 3 === 0 ? 1.5 : j % 3 === 1 ? -1 : 0))
  const features = new Float64Array(count * D).map(normal)
  const labels = new Uint8Array(count)
  for (let row = 0; row < count; row++) {
    let z = 0.3
    for (let j = 0; j < D; j++) z += truth[j]! * features[row * D + j]!
    labels[row] = z + noise * normal() > 0 ? 1 : 0
  }
  return { count, features, labels }
}

const all = (count: number) => Array.from({ length: count }, (_, row) => row)

const train = (data: LogisticRegression.Data, optimizer: Optimizer.Optimizer, epochs: number, batch: number) => {
  const theta = new Float64Array(LogisticRegression.PARAMETER_COUNT)
  const gradient = new Float64Array(theta.length)
  const random = Random.make(7)
  const order = all(data.count)
  const losses: Array<number> = []
  for (let epoch = 0; epoch < epochs; epoch++) {
    Random.shuffle(random, order)
    for (let start = 0; start < order.length; start += batch) {
      LogisticRegression.lossAndGradient(theta, data, order.slice(start, start + batch), gradient)
      optimizer.step(theta, gradient)
    }
    losses.push(LogisticRegression.evaluate(theta, data).loss)
  }
  return { theta, losses }
}

describe("LogisticRegression", () => {
  it("has the analytic gradient of its loss (central finite differences)", () => {
    const data = toy(40, 1, 0.5)
    const random = Random.make(2)
    const theta = new Float64Array(LogisticRegression.PARAMETER_COUNT).map(() => random.next() - 0.5)
    const gradient = new Float64Array(theta.length)
    const rows = all(data.count)
    LogisticRegression.lossAndGradient(theta, data, rows, gradient)
    const h = 1e-6
    for (let i = 0; i < theta.length; i++) {
      const plus = Float64Array.from(theta)
      const minus = Float64Array.from(theta)
      plus[i]! += h
      minus[i]! -= h
      const scratch = new Float64Array(theta.length)
      const numeric = (LogisticRegression.lossAndGradient(plus, data, rows, scratch) -
        LogisticRegression.lossAndGradient(minus, data, rows, scratch)) / (2 * h)
      assert.closeTo(gradient[i]!, numeric, 1e-7, `∂loss/∂θ[${i}]`)
    }
  })

  it("computes the cross-entropy without overflow for huge logits", () => {
    const data: LogisticRegression.Data = {
      count: 2,
      features: new Float64Array(2 * D).fill(1),
      labels: Uint8Array.of(1, 0)
    }
    const theta = new Float64Array(LogisticRegression.PARAMETER_COUNT).fill(100)
    const result = LogisticRegression.evaluate(theta, data)
    // Row 1 is right with certainty (loss 0), row 2 wrong by a logit of 3100 (loss 3100): mean 1550.
    assert.closeTo(result.loss, 1550, 1e-9)
    assert.strictEqual(result.accuracy, 0.5)
  })

  it("converges on a separable toy problem with both optimizers", () => {
    const data = toy(400, 3)
    for (const optimizer of [Optimizer.adam(0.05, LogisticRegression.PARAMETER_COUNT), Optimizer.sgd(0.5)]) {
      const { losses, theta } = train(data, optimizer, 40, 32)
      assert.isBelow(losses.at(-1)!, 0.15)
      assert.isBelow(losses.at(-1)!, losses[0]!)
      assert.isAtLeast(LogisticRegression.evaluate(theta, data).accuracy, 0.99)
    }
  })
})

describe("Optimizer", () => {
  const gradient = Float64Array.from({ length: LogisticRegression.PARAMETER_COUNT }, (_, i) => (i - 15) * 0.01)

  it("sgd steps by −lr·g", () => {
    const theta = new Float64Array(gradient.length).fill(1)
    Optimizer.sgd(0.1).step(theta, gradient)
    theta.forEach((value, i) => assert.closeTo(value, 1 - 0.1 * gradient[i]!, 1e-15))
  })

  it("adam's bias-corrected first step is −lr·sign(g), whatever the gradient's scale", () => {
    const theta = new Float64Array(gradient.length)
    Optimizer.adam(0.01, theta.length).step(theta, gradient)
    theta.forEach((value, i) => {
      const g = gradient[i]!
      const expected = g === 0 ? 0 : -0.01 * Math.sign(g) * Math.abs(g) / (Math.abs(g) + Optimizer.ADAM.epsilon)
      assert.closeTo(value, expected, 1e-12)
    })
  })

  it("adam adapts per parameter where sgd does not: a tiny gradient moves adam as far as a big one", () => {
    const tiny = Float64Array.from({ length: 2 }, (_, i) => (i === 0 ? 1e-4 : 1))
    const adamTheta = new Float64Array(2)
    const sgdTheta = new Float64Array(2)
    const adam = Optimizer.make("adam", 0.01, 2)
    const sgd = Optimizer.make("sgd", 0.01, 2)
    for (let t = 0; t < 5; t++) {
      adam.step(adamTheta, tiny)
      sgd.step(sgdTheta, tiny)
    }
    assert.closeTo(adamTheta[0]! / adamTheta[1]!, 1, 1e-3)
    assert.closeTo(sgdTheta[0]! / sgdTheta[1]!, 1e-4, 1e-12)
  })

  it("accepts only adam and sgd", () => {
    assert.isTrue(Either.isRight(Schema.decodeUnknownEither(Optimizer.OptimizerName)("adam")))
    assert.isTrue(Either.isLeft(Schema.decodeUnknownEither(Optimizer.OptimizerName)("rmsprop")))
  })
})

describe("LocalRound", () => {
  const settings: LocalRound.Settings = { optimizer: "adam", learningRate: 0.01, localEpochs: 2, batchSize: 32 }
  const shard: Samples.Samples = (() => {
    const data = toy(120, 11, 0.3)
    return { count: data.count, features: data.features.map((x, i) => 10 + (i % D) + 3 * x), labels: data.labels }
  })()

  it("runs the statistics round on an all-zero model, then trains once statistics are in", () => {
    const first = Either.getOrThrow(LocalRound.run(ModelVector.initial(), shard, settings, 0))
    assert.strictEqual(first.phase, "statistics")
    assert.strictEqual(first.samples, 120)
    assert.isTrue(ModelVector.hasStatistics(first.vector))
    assert.deepStrictEqual(Array.from(ModelVector.parameters(first.vector)), new Array(D + 1).fill(0))
    const second = Either.getOrThrow(LocalRound.run(first.vector, shard, settings, 1))
    assert.strictEqual(second.phase, "training")
    if (second.phase !== "training") return
    assert.isBelow(second.metrics.local_loss, second.metrics.global_loss)
    // The moments travel back untouched.
    assert.deepStrictEqual(
      Array.from(second.vector.subarray(ModelVector.offsets.mean)),
      Array.from(first.vector.subarray(ModelVector.offsets.mean))
    )
  })

  it("is reproducible: the same round on the same data gives the same vector", () => {
    const stats = Either.getOrThrow(LocalRound.run(ModelVector.initial(), shard, settings, 0)).vector
    const a = Either.getOrThrow(LocalRound.run(stats, shard, settings, 4)).vector
    const b = Either.getOrThrow(LocalRound.run(stats, shard, settings, 4)).vector
    assert.deepStrictEqual(Array.from(a), Array.from(b))
  })

  it("refuses a global model of another shape", () => {
    const result = LocalRound.run(new Float32Array(9), shard, settings, 0)
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) assert.include(result.left.message, "9 values")
  })

  it("bounds the settings: lr in (0, 1], epochs 1..100, batch 1..4096, no extra fields", () => {
    const decode = Schema.decodeUnknownEither(LocalRound.Settings)
    assert.isTrue(Either.isRight(decode(settings)))
    for (
      const bad of [
        { ...settings, learningRate: 0 },
        { ...settings, learningRate: 1.5 },
        { ...settings, localEpochs: 0 },
        { ...settings, localEpochs: 2.5 },
        { ...settings, batchSize: 5000 },
        { ...settings, optimizer: "lbfgs" },
        { ...settings, momentum: 0.9 }
      ]
    ) assert.isTrue(Either.isLeft(decode(bad)), JSON.stringify(bad))
  })
})
