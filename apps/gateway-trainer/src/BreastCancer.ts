/**
 * The committed fixture: the Breast Cancer Wisconsin (Diagnostic) data set, 569 samples × 30 features, as shipped in
 * scikit-learn (`sklearn/datasets/data/breast_cancer.csv`). See `data/NOTICE.md` for its source and licence.
 *
 * @since 0.1.0
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { fileURLToPath } from "node:url"
import * as Csv from "./internal/csv.js"
import * as Samples from "./Samples.js"

/**
 * The data file, resolved from `src/` and `dist/` alike.
 *
 * @since 0.1.0
 */
export const FIXTURE_PATH = fileURLToPath(new URL("../data/breast_cancer.csv", import.meta.url))

/**
 * @since 0.1.0
 */
export const SAMPLE_COUNT = 569

/**
 * @since 0.1.0
 */
export class FixtureError extends Schema.TaggedError<FixtureError>()("FixtureError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot read the Breast Cancer Wisconsin fixture at ${this.path}: ${this.reason}`
  }
}

/**
 * Parses scikit-learn's file format: a first line `569,30,malignant,benign` (row count, feature count, class names),
 * then one line per sample with the 30 features and the class index.
 *
 * @since 0.1.0
 */
export const parse = (text: string, path = FIXTURE_PATH): Effect.Effect<Samples.Samples, FixtureError> =>
  Effect.suspend(() => {
    const fail = (reason: string) => Effect.fail(new FixtureError({ path, reason }))
    const [first, ...rows] = Csv.lines(text)
    const head = first?.split(",") ?? []
    const count = Number(head[0])
    if (
      head.length !== 4 || head[1] !== String(Samples.FEATURE_COUNT) || head[2] !== "malignant" || head[3] !== "benign"
    ) {
      return fail("the first line is not `<rows>,30,malignant,benign`")
    }
    if (count !== rows.length) return fail(`the first line announces ${head[0]} rows but the file has ${rows.length}`)
    const features = new Float64Array(count * Samples.FEATURE_COUNT)
    const labels = new Uint8Array(count)
    for (let row = 0; row < count; row++) {
      const parsed = Csv.numbers(rows[row]!.split(","))
      if ("bad" in parsed) return fail(`line ${row + 2} has a cell that is not a number`)
      const label = parsed.values[Samples.FEATURE_COUNT]
      if (parsed.values.length !== Samples.FEATURE_COUNT + 1 || (label !== 0 && label !== 1)) {
        return fail(`line ${row + 2} is not 30 features and a 0/1 class`)
      }
      features.set(parsed.values.slice(0, Samples.FEATURE_COUNT), row * Samples.FEATURE_COUNT)
      labels[row] = label
    }
    return Effect.succeed({ count, features, labels })
  })

/**
 * Reads and parses the committed fixture.
 *
 * @since 0.1.0
 */
export const load: Effect.Effect<Samples.Samples, FixtureError, FileSystem.FileSystem> = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const text = yield* fs.readFileString(FIXTURE_PATH).pipe(
    Effect.mapError((error: PlatformError) => new FixtureError({ path: FIXTURE_PATH, reason: error.message }))
  )
  return yield* parse(text)
})
