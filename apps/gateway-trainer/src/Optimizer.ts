/**
 * The two optimizers a job may choose: plain SGD and Adam (Kingma & Ba, with bias correction).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 */
export const OptimizerName = Schema.Literal("adam", "sgd").annotations({ identifier: "OptimizerName" })
/**
 * @since 0.1.0
 */
export type OptimizerName = typeof OptimizerName.Type

/**
 * @since 0.1.0
 */
export interface Optimizer {
  /** Updates `theta` in place from `gradient`. */
  readonly step: (theta: Float64Array, gradient: Float64Array) => void
}

/**
 * @since 0.1.0
 */
export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const

/**
 * @since 0.1.0
 */
export const sgd = (learningRate: number): Optimizer => ({
  step: (theta, gradient) => {
    for (let i = 0; i < theta.length; i++) theta[i]! -= learningRate * gradient[i]!
  }
})

/**
 * @since 0.1.0
 */
export const adam = (learningRate: number, size: number): Optimizer => {
  const m = new Float64Array(size)
  const v = new Float64Array(size)
  let t = 0
  return {
    step: (theta, gradient) => {
      t++
      const correction1 = 1 - ADAM.beta1 ** t
      const correction2 = 1 - ADAM.beta2 ** t
      for (let i = 0; i < theta.length; i++) {
        const g = gradient[i]!
        m[i] = ADAM.beta1 * m[i]! + (1 - ADAM.beta1) * g
        v[i] = ADAM.beta2 * v[i]! + (1 - ADAM.beta2) * g * g
        theta[i]! -= (learningRate * (m[i]! / correction1)) / (Math.sqrt(v[i]! / correction2) + ADAM.epsilon)
      }
    }
  }
}

/**
 * @since 0.1.0
 */
export const make = (name: OptimizerName, learningRate: number, size: number): Optimizer =>
  name === "adam" ? adam(learningRate, size) : sgd(learningRate)
