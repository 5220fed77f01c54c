/**
 * The CSV format of a gateway's dataset files: a header of the 30 feature names and `target`, then one sample per
 * line (`target` 0 = malignant, 1 = benign). A dataset is one or more such files.
 *
 * Problems name the line and what was wrong with it, never the cell's content: these messages may reach the
 * orchestrator's log, and a cell is patient data.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Csv from "./internal/csv.js"
import * as Samples from "./Samples.js"

/**
 * @since 0.1.0
 */
export const LABEL_COLUMN = "target"

/**
 * @since 0.1.0
 */
export const HEADER: ReadonlyArray<string> = [...Samples.FEATURE_NAMES, LABEL_COLUMN]

/**
 * @since 0.1.0
 */
export const Problem = Schema.Literal(
  "the header is not the 30 feature names followed by target",
  "a row does not have 31 cells",
  "a feature is not a finite decimal number",
  "target is not 0 or 1",
  "the file has no rows"
)
/**
 * @since 0.1.0
 */
export type Problem = typeof Problem.Type

/**
 * What is wrong with a file and on which (1-based) line; safe to log.
 *
 * @since 0.1.0
 */
export class CsvProblem extends Schema.TaggedError<CsvProblem>()("CsvProblem", {
  line: Schema.Number,
  problem: Problem
}) {
  override get message(): string {
    return `line ${this.line}: ${this.problem}`
  }
}

/**
 * @since 0.1.0
 */
export const encode = (samples: Samples.Samples): string => {
  const rows = [HEADER.join(",")]
  for (let row = 0; row < samples.count; row++) {
    const cells = Array.from(
      samples.features.subarray(row * Samples.FEATURE_COUNT, (row + 1) * Samples.FEATURE_COUNT),
      // String(number) is the shortest text that reads back to the same double.
      (value) => String(value)
    )
    cells.push(String(samples.labels[row]))
    rows.push(cells.join(","))
  }
  return rows.join("\n") + "\n"
}

/**
 * @since 0.1.0
 */
export const decode = (text: string): Either.Either<Samples.Samples, CsvProblem> => {
  const lines = Csv.lines(text)
  const header = lines[0]?.split(",").map((cell) => cell.trim())
  if (header === undefined || header.join(",") !== HEADER.join(",")) {
    return Either.left(
      new CsvProblem({ line: 1, problem: "the header is not the 30 feature names followed by target" })
    )
  }
  const count = lines.length - 1
  if (count === 0) return Either.left(new CsvProblem({ line: 2, problem: "the file has no rows" }))
  const features = new Float64Array(count * Samples.FEATURE_COUNT)
  const labels = new Uint8Array(count)
  for (let row = 0; row < count; row++) {
    const line = row + 2
    const cells = lines[row + 1]!.split(",")
    if (cells.length !== HEADER.length) {
      return Either.left(new CsvProblem({ line, problem: "a row does not have 31 cells" }))
    }
    const parsed = Csv.numbers(cells)
    if ("bad" in parsed) {
      return Either.left(
        new CsvProblem({
          line,
          problem: parsed.bad === Samples.FEATURE_COUNT
            ? "target is not 0 or 1"
            : "a feature is not a finite decimal number"
        })
      )
    }
    const label = parsed.values[Samples.FEATURE_COUNT]
    if (label !== 0 && label !== 1) return Either.left(new CsvProblem({ line, problem: "target is not 0 or 1" }))
    features.set(parsed.values.slice(0, Samples.FEATURE_COUNT), row * Samples.FEATURE_COUNT)
    labels[row] = label
  }
  return Either.right({ count, features, labels })
}
