/**
 * @fedkit/gateway-trainer: the reference model (logistic regression on the Breast Cancer Wisconsin data), its
 * gateway-side Node trainer, the stdio protocol to FLARE's Python bridge, the FLARE job around them and its Secure
 * Runtime module (`@fedkit/gateway-trainer/secure_runtime/secure_runtime_service`).
 */
export * as BreastCancer from "./BreastCancer.js"
export * as Bridge from "./Bridge.js"
export * as CsvShard from "./CsvShard.js"
export * as DalFixture from "./DalFixture.js"
export * as Federation from "./Federation.js"
export * as FlareJob from "./FlareJob.js"
export * as LocalRound from "./LocalRound.js"
export * as LogisticRegression from "./LogisticRegression.js"
export * as ModelVector from "./ModelVector.js"
export * as NpyVector from "./NpyVector.js"
export * as Optimizer from "./Optimizer.js"
export * as Protocol from "./Protocol.js"
export * as Samples from "./Samples.js"
export * as Split from "./Split.js"
export * as Standardization from "./Standardization.js"
export * as StdioChannel from "./StdioChannel.js"
export * as Trainer from "./Trainer.js"
export * as TrainerFailure from "./TrainerFailure.js"
