/**
 * Feature standardization from statistics computed federatedly. Each gateway reports only its row count and the
 * per-feature first and second moments (E[x], E[x²]) of its rows; no row leaves a gateway. Averaging those moments
 * weighted by row count (exactly what FLARE's FedAvg does when a site reports its row count as
 * `NUM_STEPS_CURRENT_ROUND`) yields the moments of the union, so the scaling equals the one computed centrally.
 *
 * @since 0.1.0
 */
import * as Samples from "./Samples.js"

const D = Samples.FEATURE_COUNT

/**
 * @since 0.1.0
 */
export interface Moments {
  readonly count: number
  /** E[x] per feature. */
  readonly mean: Float64Array
  /** E[x²] per feature. */
  readonly secondMoment: Float64Array
}

/**
 * @since 0.1.0
 */
export const of = (samples: Samples.Samples): Moments => {
  const mean = new Float64Array(D)
  const secondMoment = new Float64Array(D)
  for (let row = 0; row < samples.count; row++) {
    for (let j = 0; j < D; j++) {
      const x = samples.features[row * D + j]!
      mean[j]! += x
      secondMoment[j]! += x * x
    }
  }
  for (let j = 0; j < D; j++) {
    mean[j]! /= samples.count
    secondMoment[j]! /= samples.count
  }
  return { count: samples.count, mean, secondMoment }
}

/**
 * The count-weighted average of per-site moments: the moments of the union of the sites' rows.
 *
 * @since 0.1.0
 */
export const aggregate = (parts: ReadonlyArray<Moments>): Moments => {
  const count = parts.reduce((sum, part) => sum + part.count, 0)
  const mean = new Float64Array(D)
  const secondMoment = new Float64Array(D)
  for (const part of parts) {
    for (let j = 0; j < D; j++) {
      mean[j]! += part.mean[j]! * part.count
      secondMoment[j]! += part.secondMoment[j]! * part.count
    }
  }
  for (let j = 0; j < D; j++) {
    mean[j]! /= count
    secondMoment[j]! /= count
  }
  return { count, mean, secondMoment }
}

/**
 * @since 0.1.0
 */
export interface Scaler {
  readonly mean: Float64Array
  /** The population standard deviation, or 1 for a feature that is constant. */
  readonly scale: Float64Array
}

// The moments travel as float32, whose rounding leaves E[x²] − E[x]² of a constant feature at about 1e-7·E[x²]
// instead of 0: anything below this relative bound is treated as constant.
const CONSTANT_RELATIVE_VARIANCE = 1e-6

/**
 * @since 0.1.0
 */
export const scaler = (moments: Pick<Moments, "mean" | "secondMoment">): Scaler => {
  const scale = new Float64Array(D)
  for (let j = 0; j < D; j++) {
    const m2 = moments.secondMoment[j]!
    const variance = m2 - moments.mean[j]! ** 2
    scale[j] = variance > CONSTANT_RELATIVE_VARIANCE * m2 ? Math.sqrt(variance) : 1
  }
  return { mean: Float64Array.from(moments.mean), scale }
}

/**
 * The standardized feature matrix (row-major, like {@link Samples.Samples.features}).
 *
 * @since 0.1.0
 */
export const apply = (scaler: Scaler, samples: Samples.Samples): Float64Array => {
  const out = new Float64Array(samples.count * D)
  for (let row = 0; row < samples.count; row++) {
    for (let j = 0; j < D; j++) {
      out[row * D + j] = (samples.features[row * D + j]! - scaler.mean[j]!) / scaler.scale[j]!
    }
  }
  return out
}
