/**
 * The held-out test set of the reference data (`Split.split`: 20 %, stratified, never dealt to a gateway) and a saved
 * global model's accuracy on it: what `gateway-trainer evaluate` prints for a model FLARE saved on any target.
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as BreastCancer from "./BreastCancer.js"
import * as Federation from "./Federation.js"
import * as NpyVector from "./NpyVector.js"
import * as Split from "./Split.js"

/**
 * @since 0.1.0
 */
export interface Report {
  readonly model: string
  readonly rows: number
  readonly accuracy: number
  readonly loss: number
}

/**
 * Reads a global model (`server.npy`) and evaluates it, with its own standardization, on the held-out rows.
 *
 * @since 0.1.0
 */
export const evaluate = (model: string) =>
  Effect.gen(function*() {
    const vector = yield* NpyVector.read(model)
    const { test } = yield* Split.split(yield* BreastCancer.load)
    const evaluation = Federation.evaluate(vector, test)
    return { model, rows: test.count, accuracy: evaluation.accuracy, loss: evaluation.loss } satisfies Report
  }) satisfies Effect.Effect<Report, unknown, FileSystem.FileSystem>
