/**
 * What a gateway does with one FedAvg round, given the global model vector and its local rows: the statistics round
 * (moments of its raw features) or a training round (standardize with the global moments, run the optimizer for
 * `localEpochs` over shuffled minibatches, starting from the global parameters with fresh optimizer state).
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Random from "./internal/random.js"
import * as LogisticRegression from "./LogisticRegression.js"
import * as ModelVector from "./ModelVector.js"
import * as Optimizer from "./Optimizer.js"
import type * as Samples from "./Samples.js"
import * as Standardization from "./Standardization.js"

/**
 * Upper bounds, shared with the Secure Runtime's payload validation.
 *
 * @since 0.1.0
 */
export const limits = {
  learningRate: 1,
  localEpochs: 100,
  batchSize: 4096
} as const

/**
 * @since 0.1.0
 */
export const Settings = Schema.Struct({
  optimizer: Optimizer.OptimizerName,
  learningRate: Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThanOrEqualTo(limits.learningRate)),
  localEpochs: Schema.Int.pipe(Schema.between(1, limits.localEpochs)),
  batchSize: Schema.Int.pipe(Schema.between(1, limits.batchSize))
}).annotations({ identifier: "TrainingSettings", parseOptions: { onExcessProperty: "error" } })
/**
 * @since 0.1.0
 */
export type Settings = typeof Settings.Type

/**
 * Metrics of a training round; all are aggregates over the gateway's rows, never a row.
 *
 * @since 0.1.0
 */
export interface TrainingMetrics {
  /** The received global model on the local rows, before training. */
  readonly global_loss: number
  readonly global_accuracy: number
  /** The locally trained model on the local rows. */
  readonly local_loss: number
  readonly local_accuracy: number
}

/**
 * @since 0.1.0
 */
export type Outcome =
  | { readonly phase: "statistics"; readonly vector: Float32Array; readonly samples: number }
  | {
    readonly phase: "training"
    readonly vector: Float32Array
    readonly samples: number
    readonly metrics: TrainingMetrics
  }

/**
 * @since 0.1.0
 */
export class VectorMismatch extends Schema.TaggedError<VectorMismatch>()("VectorMismatch", { length: Schema.Number }) {
  override get message(): string {
    return `the global model has ${this.length} values, this model expects ${ModelVector.LENGTH}; ` +
      "the job's initial model does not belong to this trainer"
  }
}

const statisticsRound = (samples: Samples.Samples): Outcome => {
  const moments = Standardization.of(samples)
  return {
    phase: "statistics",
    vector: ModelVector.make(new Float64Array(LogisticRegression.PARAMETER_COUNT), moments),
    samples: samples.count
  }
}

const trainingRound = (
  global: Float32Array,
  samples: Samples.Samples,
  settings: Settings,
  seed: number
): Outcome => {
  const moments = ModelVector.statistics(global)
  const data: LogisticRegression.Data = {
    count: samples.count,
    features: Standardization.apply(Standardization.scaler(moments), samples),
    labels: samples.labels
  }
  const theta = ModelVector.parameters(global)
  const before = LogisticRegression.evaluate(theta, data)
  const optimizer = Optimizer.make(settings.optimizer, settings.learningRate, theta.length)
  const gradient = new Float64Array(theta.length)
  const random = Random.make(seed)
  const order = Array.from({ length: samples.count }, (_, row) => row)
  for (let epoch = 0; epoch < settings.localEpochs; epoch++) {
    Random.shuffle(random, order)
    for (let start = 0; start < order.length; start += settings.batchSize) {
      LogisticRegression.lossAndGradient(theta, data, order.slice(start, start + settings.batchSize), gradient)
      optimizer.step(theta, gradient)
    }
  }
  const after = LogisticRegression.evaluate(theta, data)
  return {
    phase: "training",
    // The moments go back exactly as received, so FedAvg's average leaves them in place.
    vector: ModelVector.make(theta, moments),
    samples: samples.count,
    metrics: {
      global_loss: before.loss,
      global_accuracy: before.accuracy,
      local_loss: after.loss,
      local_accuracy: after.accuracy
    }
  }
}

/**
 * One round on local rows. `round` only seeds the minibatch order, so a rerun of a round reproduces it.
 *
 * @since 0.1.0
 */
export const run = (
  global: Float32Array,
  samples: Samples.Samples,
  settings: Settings,
  round: number
): Either.Either<Outcome, VectorMismatch> => {
  if (global.length !== ModelVector.LENGTH) return Either.left(new VectorMismatch({ length: global.length }))
  return Either.right(
    ModelVector.hasStatistics(global)
      ? trainingRound(global, samples, settings, Random.derive(0x5eed, round, samples.count))
      : statisticsRound(samples)
  )
}
