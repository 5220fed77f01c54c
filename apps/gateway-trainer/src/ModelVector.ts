/**
 * The one float32 vector FLARE carries between the orchestrator and the gateways (under NPModelPersistor's
 * `"numpy_key"`), and how it is laid out:
 *
 * | offset | length | content                                                        |
 * | ------ | ------ | -------------------------------------------------------------- |
 * | 0      | 30     | weights w, one per feature (standardized features)             |
 * | 30     | 1      | bias b                                                         |
 * | 31     | 30     | E[x] per feature, over all gateways' training rows            |
 * | 61     | 30     | E[x²] per feature, over all gateways' training rows           |
 * | 91     | 1      | statistics flag: 0 until the statistics round has run, then 1  |
 *
 * The initial model is all zeros, so the first FedAvg round is the statistics round: every gateway returns its own
 * moments with flag 1 and its row count as weight, and FedAvg's weighted average turns them into the moments of the
 * union. Every later round trains; gateways return the moments unchanged, so averaging keeps them.
 *
 * @since 0.1.0
 */
import * as LogisticRegression from "./LogisticRegression.js"
import * as Samples from "./Samples.js"
import type * as Standardization from "./Standardization.js"

const D = Samples.FEATURE_COUNT

/**
 * @since 0.1.0
 */
export const offsets = {
  weights: 0,
  bias: D,
  mean: D + 1,
  secondMoment: 2 * D + 1,
  statisticsFlag: 3 * D + 1
} as const

/**
 * @since 0.1.0
 */
export const LENGTH = 3 * D + 2

/**
 * The initial global model: all zeros (no statistics yet, zero weights).
 *
 * @since 0.1.0
 */
export const initial = (): Float32Array => new Float32Array(LENGTH)

/**
 * Averaged flags of 1 may come back as 0.99999994 or 1.0000001, hence the threshold.
 *
 * @since 0.1.0
 */
export const hasStatistics = (vector: Float32Array): boolean => vector[offsets.statisticsFlag]! > 0.5

/**
 * @since 0.1.0
 */
export const statistics = (vector: Float32Array): Pick<Standardization.Moments, "mean" | "secondMoment"> => ({
  mean: Float64Array.from(vector.subarray(offsets.mean, offsets.mean + D)),
  secondMoment: Float64Array.from(vector.subarray(offsets.secondMoment, offsets.secondMoment + D))
})

/**
 * θ = [w, b] as float64, ready to train.
 *
 * @since 0.1.0
 */
export const parameters = (vector: Float32Array): Float64Array =>
  Float64Array.from(vector.subarray(offsets.weights, offsets.weights + LogisticRegression.PARAMETER_COUNT))

/**
 * A vector with statistics (flag set) and parameters θ.
 *
 * @since 0.1.0
 */
export const make = (
  theta: Float64Array,
  moments: Pick<Standardization.Moments, "mean" | "secondMoment">
): Float32Array => {
  const vector = new Float32Array(LENGTH)
  vector.set(theta, offsets.weights)
  vector.set(moments.mean, offsets.mean)
  vector.set(moments.secondMoment, offsets.secondMoment)
  vector[offsets.statisticsFlag] = 1
  return vector
}
