/**
 * Binary logistic regression on standardized features: p(benign | x) = σ(w·x + b), trained on the mean binary
 * cross-entropy. Parameters are one vector θ = [w₀ … w₂₉, b].
 *
 * @since 0.1.0
 */
import * as Samples from "./Samples.js"

const D = Samples.FEATURE_COUNT

/**
 * @since 0.1.0
 */
export const PARAMETER_COUNT = D + 1

/**
 * Standardized features with their labels.
 *
 * @since 0.1.0
 */
export interface Data {
  readonly count: number
  /** `count × 30`, row-major. */
  readonly features: Float64Array
  readonly labels: Uint8Array
}

/**
 * @since 0.1.0
 */
export const logit = (theta: Float64Array, data: Data, row: number): number => {
  let z = theta[D]!
  const offset = row * D
  for (let j = 0; j < D; j++) z += theta[j]! * data.features[offset + j]!
  return z
}

const sigmoid = (z: number): number => z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z))

// −log σ(z) for y = 1 and −log(1 − σ(z)) for y = 0, without overflow: softplus(z) − y·z.
const crossEntropy = (z: number, y: number): number => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - y * z

/**
 * Writes ∂loss/∂θ of the mean cross-entropy over `rows` into `gradient` and returns that loss.
 *
 * @since 0.1.0
 */
export const lossAndGradient = (
  theta: Float64Array,
  data: Data,
  rows: ArrayLike<number>,
  gradient: Float64Array
): number => {
  gradient.fill(0)
  let loss = 0
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!
    const z = logit(theta, data, row)
    const y = data.labels[row]!
    loss += crossEntropy(z, y)
    const residual = sigmoid(z) - y
    const offset = row * D
    for (let j = 0; j < D; j++) gradient[j]! += residual * data.features[offset + j]!
    gradient[D]! += residual
  }
  for (let j = 0; j <= D; j++) gradient[j]! /= rows.length
  return loss / rows.length
}

/**
 * @since 0.1.0
 */
export interface Evaluation {
  /** Mean binary cross-entropy. */
  readonly loss: number
  /** Share of rows whose predicted class (p ≥ 0.5 → benign) is the label. */
  readonly accuracy: number
}

/**
 * @since 0.1.0
 */
export const evaluate = (theta: Float64Array, data: Data): Evaluation => {
  let loss = 0
  let correct = 0
  for (let row = 0; row < data.count; row++) {
    const z = logit(theta, data, row)
    const y = data.labels[row]!
    loss += crossEntropy(z, y)
    if ((z >= 0 ? 1 : 0) === y) correct++
  }
  return { loss: loss / data.count, accuracy: correct / data.count }
}
