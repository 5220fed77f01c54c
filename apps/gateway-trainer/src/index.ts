/**
 * @fedkit/gateway-trainer: the reference model (logistic regression on the Breast Cancer Wisconsin data), its
 * gateway-side Node trainer, the stdio protocol to FLARE's Python bridge, the FLARE job around them and its Secure
 * Runtime module (`@fedkit/gateway-trainer/secure_runtime/secure_runtime_service`).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as BreastCancer from "./BreastCancer.js"
/** @since 0.1.0 */
export * as Bridge from "./Bridge.js"
/** @since 0.1.0 */
export * as CsvShard from "./CsvShard.js"
/** @since 0.1.0 */
export * as DalFixture from "./DalFixture.js"
/** @since 0.1.0 */
export * as Federation from "./Federation.js"
/** @since 0.1.0 */
export * as FlareJob from "./FlareJob.js"
/** @since 0.1.0 */
export * as LocalRound from "./LocalRound.js"
/** @since 0.1.0 */
export * as LogisticRegression from "./LogisticRegression.js"
/** @since 0.1.0 */
export * as ModelVector from "./ModelVector.js"
/** @since 0.1.0 */
export * as NpyVector from "./NpyVector.js"
/** @since 0.1.0 */
export * as Optimizer from "./Optimizer.js"
/** @since 0.1.0 */
export * as Protocol from "./Protocol.js"
/** @since 0.1.0 */
export * as Samples from "./Samples.js"
/** @since 0.1.0 */
export * as Split from "./Split.js"
/** @since 0.1.0 */
export * as Standardization from "./Standardization.js"
/** @since 0.1.0 */
export * as StdioChannel from "./StdioChannel.js"
/** @since 0.1.0 */
export * as Trainer from "./Trainer.js"
/** @since 0.1.0 */
export * as TrainerFailure from "./TrainerFailure.js"
