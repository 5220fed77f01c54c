import type * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"

/**
 * A record key. `__proto__` is refused: decoding it into a JavaScript object would replace the object's prototype
 * instead of adding a key, silently losing what the JSON said.
 */
const keyWith = (arbitrary: (fc: typeof FastCheck) => FastCheck.Arbitrary<string>) =>
  Schema.String.pipe(
    Schema.filter((key) => key !== "__proto__"),
    Schema.annotations({
      // Shown when a key is refused: "is unexpected, expected: a key other than __proto__".
      identifier: "a key other than __proto__",
      arbitrary: () => (fc) => arbitrary(fc).filter((key) => key !== "__proto__")
    })
  )

export const Key = keyWith((fc) => fc.string())

/** `Schema.Record` with {@link Key} keys. */
export const record = <A, I, R>(value: Schema.Schema<A, I, R>) => Schema.Record({ key: Key, value })

export const PositiveInt = Schema.Int.pipe(Schema.positive({ message: () => "Expected a positive integer" }))
export const NonNegativeInt = Schema.Int.pipe(
  Schema.nonNegative({ message: () => "Expected an integer greater than or equal to 0" })
)
export const PositiveNumber = Schema.Finite.pipe(Schema.positive({ message: () => "Expected a positive number" }))
export const NonNegativeNumber = Schema.Finite.pipe(
  Schema.nonNegative({ message: () => "Expected a number greater than or equal to 0" })
)
export const NonEmptyString = Schema.String.pipe(Schema.minLength(1, { message: () => "Expected a non-empty string" }))

/** A task name FLARE routes on (`train`, `validate`, or `*` and other fnmatch patterns on the client). */
export const TaskName = NonEmptyString.annotations({ identifier: "TaskName" })

/**
 * A path relative to a folder FLARE controls (the run dir, `custom/`): FLARE resolves such paths under that folder
 * and refuses escapes, so `..`, absolute paths and empty segments are rejected here already.
 */
export const relativePathProblem = (value: string): string | undefined =>
  value.length > 0 && !value.startsWith("/") && !value.includes("\\") && !value.includes("\0") &&
    value.split("/").every((segment) => segment !== "" && segment !== "." && segment !== "..")
    ? undefined
    : `Expected a relative path without "..", "." or empty segments, actual ${JSON.stringify(value)}`

const segment = (fc: typeof FastCheck) => fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,8}$/)

/** Arbitrary relative paths, as {@link RelativePath} accepts. */
export const relativePathArbitrary = (fc: typeof FastCheck) =>
  fc.array(segment(fc), { minLength: 1, maxLength: 3 }).map((parts) => parts.join("/"))

export const RelativePath = Schema.String.pipe(
  Schema.filter((value) => relativePathProblem(value) ?? true),
  Schema.annotations({ identifier: "RelativePath", arbitrary: () => relativePathArbitrary })
)

/** One file name, no directories. */
export const FileName = RelativePath.pipe(
  Schema.filter((value) =>
    value.includes("/") ? `Expected a file name without "/", actual ${JSON.stringify(value)}` : undefined
  ),
  Schema.annotations({ arbitrary: () => segment })
)

/**
 * An optional field that may be absent but never `undefined`: what a JSON key is, and what
 * `exactOptionalPropertyTypes` types. (`Schema.optional` also admits `undefined`, which adds a second
 * "Expected undefined" line to every error.)
 */
export const opt = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

/** A literal union that reports one line, `Expected "a" | "b", actual "c"`, instead of one line per literal. */
export const literals = <const L extends ReadonlyArray<string>>(...values: L) =>
  Schema.Literal(...values).annotations({
    message: (issue) => ({
      message: `Expected ${values.map((value) => JSON.stringify(value)).join(" | ")}, actual ${
        JSON.stringify(issue.actual)
      }`,
      override: true
    })
  })

/**
 * A non-empty list, typed as one; an empty list is reported on the list itself ("must not be empty: …") rather
 * than as a missing first element.
 */
export const nonEmpty = <A, I, R>(item: Schema.Schema<A, I, R>, why: string) =>
  Schema.transform(
    Schema.Array(item).pipe(Schema.minItems(1, { message: () => `must not be empty: ${why}` })),
    Schema.NonEmptyArray(Schema.typeSchema(item)),
    { strict: true, decode: (items) => items as readonly [A, ...Array<A>], encode: (items) => items }
  )

/**
 * A record whose keys must satisfy `check` (an error message for a bad key, or undefined). Reported at the key's own
 * path, which a refined key schema in `Schema.Record` does not do.
 */
export const recordWithKeys = <A, I, R>(
  value: Schema.Schema<A, I, R>,
  check: (key: string) => string | undefined,
  keyArbitrary: (fc: typeof FastCheck) => FastCheck.Arbitrary<string>
) =>
  Schema.Record({ key: keyWith(keyArbitrary), value }).pipe(
    Schema.filter((record) =>
      Object.keys(record).flatMap((key) => {
        const message = check(key)
        return message === undefined ? [] : [{ path: [key], message }]
      })
    )
  )

/** Arbitrary names matching FLARE's job/app name pattern. */
export const jobNameArbitrary = (fc: typeof FastCheck) => fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,10}$/)
