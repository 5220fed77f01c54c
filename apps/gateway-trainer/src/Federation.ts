/**
 * FedAvg in one process, with the same local rounds and the same float32 averaging as the FLARE job: for tests, the
 * central baseline and quick experiments. FLARE itself is driven by the job (see `FlareJob`); this module never
 * talks to it.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as LocalRound from "./LocalRound.js"
import * as LogisticRegression from "./LogisticRegression.js"
import * as ModelVector from "./ModelVector.js"
import type * as Samples from "./Samples.js"
import * as Standardization from "./Standardization.js"

/**
 * @since 0.1.0
 */
export interface Site {
  readonly name: string
  readonly samples: Samples.Samples
}

/**
 * @since 0.1.0
 */
export interface Contribution {
  readonly vector: Float32Array
  /** FedAvg's `NUM_STEPS_CURRENT_ROUND`: the site's row count. */
  readonly weight: number
}

/**
 * FLARE 2.9's built-in FedAvg aggregation (`WeightedAggregationHelper` on numpy float32): Σ v·w accumulated in
 * float32, then multiplied by float32(1 / Σ w).
 *
 * @since 0.1.0
 */
export const fedAvg = (contributions: ReadonlyArray<Contribution>): Float32Array => {
  const total = new Float32Array(contributions[0]?.vector.length ?? 0)
  let weights = 0
  for (const { vector, weight } of contributions) {
    const w = Math.fround(weight)
    for (let i = 0; i < total.length; i++) total[i] = Math.fround(total[i]! + Math.fround(vector[i]! * w))
    weights += weight
  }
  const inverse = Math.fround(1 / weights)
  return total.map((value) => Math.fround(value * inverse))
}

/**
 * The model (with its own standardization statistics) on some rows.
 *
 * @since 0.1.0
 */
export const evaluate = (vector: Float32Array, samples: Samples.Samples): LogisticRegression.Evaluation =>
  LogisticRegression.evaluate(ModelVector.parameters(vector), {
    count: samples.count,
    features: Standardization.apply(Standardization.scaler(ModelVector.statistics(vector)), samples),
    labels: samples.labels
  })

/**
 * @since 0.1.0
 */
export interface RoundRecord {
  /** FLARE's round number: 0 is the statistics round. */
  readonly round: number
  readonly phase: "statistics" | "training"
  /** Site metrics averaged by row count, as FedAvg aggregates them; absent for the statistics round. */
  readonly metrics?: LocalRound.TrainingMetrics
  /** The new global model on the held-out rows, when some were given. */
  readonly heldOut?: LogisticRegression.Evaluation
}

/**
 * @since 0.1.0
 */
export interface Result {
  readonly model: Float32Array
  readonly rounds: ReadonlyArray<RoundRecord>
}

/**
 * @since 0.1.0
 */
export interface Options {
  readonly sites: ReadonlyArray<Site>
  /** Training rounds; the statistics round comes on top, as in the FLARE job. */
  readonly trainingRounds: number
  readonly settings: LocalRound.Settings
  readonly heldOut?: Samples.Samples
}

const weightedMetrics = (outcomes: ReadonlyArray<LocalRound.Outcome>): LocalRound.TrainingMetrics | undefined => {
  const keys = ["global_loss", "global_accuracy", "local_loss", "local_accuracy"] as const
  let total = 0
  const sums = { global_loss: 0, global_accuracy: 0, local_loss: 0, local_accuracy: 0 }
  for (const outcome of outcomes) {
    if (outcome.phase !== "training") return undefined
    total += outcome.samples
    for (const key of keys) sums[key] += outcome.metrics[key] * outcome.samples
  }
  for (const key of keys) sums[key] /= total
  return sums
}

/**
 * @since 0.1.0
 */
export const run = (options: Options): Either.Either<Result, LocalRound.VectorMismatch> =>
  Either.gen(function*() {
    let model = ModelVector.initial()
    const rounds: Array<RoundRecord> = []
    for (let round = 0; round <= options.trainingRounds; round++) {
      const outcomes: Array<LocalRound.Outcome> = []
      for (const site of options.sites) {
        outcomes.push(yield* LocalRound.run(model, site.samples, options.settings, round))
      }
      model = fedAvg(outcomes.map((outcome) => ({ vector: outcome.vector, weight: outcome.samples })))
      const metrics = weightedMetrics(outcomes)
      rounds.push({
        round,
        phase: outcomes[0]?.phase ?? "statistics",
        ...(metrics === undefined ? {} : { metrics }),
        ...(options.heldOut === undefined ? {} : { heldOut: evaluate(model, options.heldOut) })
      })
    }
    return { model, rounds }
  })

/**
 * The central baseline: the same code with one site that holds the union of the training rows.
 *
 * @since 0.1.0
 */
export const central = (options: Omit<Options, "sites"> & { readonly train: Samples.Samples }) =>
  run({ ...options, sites: [{ name: "central", samples: options.train }] })
