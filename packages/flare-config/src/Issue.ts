/**
 * One problem found in a FLARE job: which file, where in it (a JSON path), and what is wrong.
 *
 * @since 0.1.0
 */
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { opt } from "./internal/schemas.js"

/**
 * `file` is relative to the job folder (`meta.json`, `app/config/config_fed_server.json`), absent when the value was
 * checked on its own (a builder's args); `path` is a JSON path into it (`$.workflows[0].args.persistor_id`, `$` for
 * the whole value).
 *
 * @since 0.1.0
 */
export class Issue extends Schema.Class<Issue>("Issue")({
  file: opt(Schema.String),
  path: Schema.String,
  message: Schema.String
}) {
  /** `file $.path: message`, the form the README and error messages use. */
  override toString(): string {
    return `${this.file === undefined ? "" : `${this.file} `}${this.path}: ${this.message}`
  }
}

/**
 * A JSON path for a sequence of keys: identifiers as `.key`, indexes as `[0]`, anything else as `["key"]`.
 *
 * @since 0.1.0
 */
export const jsonPath = (keys: ReadonlyArray<PropertyKey>): string =>
  keys.reduce<string>(
    (path, key) =>
      typeof key === "number"
        ? `${path}[${key}]`
        : typeof key === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)
        ? `${path}.${key}`
        : `${path}[${JSON.stringify(String(key))}]`,
    "$"
  )

// For `X | null` a failed value gets one line per member; "Expected null" says nothing the other lines don't.
const dropUnionNoise = (issues: ReadonlyArray<ParseResult.ArrayFormatterIssue>) => {
  const key = (issue: ParseResult.ArrayFormatterIssue) => JSON.stringify(issue.path.map(String))
  const count = new Map<string, number>()
  for (const issue of issues) count.set(key(issue), (count.get(key(issue)) ?? 0) + 1)
  return issues.filter((issue) =>
    !(issue.message.startsWith("Expected null, actual") && (count.get(key(issue)) ?? 0) > 1)
  )
}

/**
 * The issues of a Schema parse error, each at its JSON path inside `file`, under `prefix` when the parsed value was
 * itself found at a path (a component's `args`).
 *
 * @since 0.1.0
 */
export const fromParseError = (
  file: string | undefined,
  error: ParseResult.ParseError,
  prefix: ReadonlyArray<PropertyKey> = []
): ReadonlyArray<Issue> =>
  dropUnionNoise(ParseResult.ArrayFormatter.formatErrorSync(error)).map((issue) =>
    new Issue({
      ...(file === undefined ? {} : { file }),
      path: jsonPath([...prefix, ...issue.path]),
      message: issue.message
    })
  )

/**
 * Issues as lines, for error messages.
 *
 * @since 0.1.0
 */
export const formatAll = (issues: ReadonlyArray<Issue>): string => issues.map((issue) => issue.toString()).join("; ")

/**
 * A job file (or a value meant to become one) did not decode: every problem, each with its file and JSON path.
 *
 * @since 0.1.0
 */
export class DecodeError extends Schema.TaggedError<DecodeError>()("DecodeError", {
  issues: Schema.Array(Issue)
}) {
  override get message(): string {
    return `FLARE job config does not decode: ${formatAll(this.issues)}`
  }
}
