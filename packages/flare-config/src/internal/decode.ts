import * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import type * as Schema from "effect/Schema"
import * as Issue from "../Issue.js"
import { isChecked, markChecked } from "./checked.js"
import * as FastValidate from "./fastValidate.js"

const options = { errors: "all", onExcessProperty: "error" } as const

/** Decodes with `schema`; what it returns is checked (see `markChecked`). */
export const decodeWith = <A, I>(schema: Schema.Schema<A, I>, file: string) => {
  const decode = FastValidate.decodeUnknownEither(schema, options)
  return (input: unknown) =>
    decode(input).pipe(
      Either.mapBoth({
        onLeft: (error) => new Issue.DecodeError({ issues: Issue.fromParseError(file, error) }),
        onRight: (value) => markChecked(schema, value)
      })
    )
}

/**
 * Validators, one per schema: building one derives the schema's Type side, a new AST that Effect's own parser cache
 * cannot recognise, so building it per call would compile the whole parser on every call.
 */
const validators = new WeakMap<object, (value: unknown) => Either.Either<unknown, ParseResult.ParseError>>()

const validatorOf = <A, I>(schema: Schema.Schema<A, I>) => {
  let validate = validators.get(schema)
  if (validate === undefined) {
    validate = FastValidate.validateEither(schema, options) as (
      value: unknown
    ) => Either.Either<A, ParseResult.ParseError>
    validators.set(schema, validate)
  }
  return validate as (value: A) => Either.Either<A, ParseResult.ParseError>
}

/**
 * Checks an already typed value (built in code rather than read from a file) against the schema's Type side. A value
 * the schema already checked is returned as it is; what passes is checked (see `markChecked`).
 */
export const validateWith = <A, I>(schema: Schema.Schema<A, I>, file: string) => {
  const validate = validatorOf(schema)
  return (value: A): Either.Either<A, Issue.DecodeError> =>
    isChecked(schema, value) ? Either.right(value) : validate(value).pipe(
      Either.mapBoth({
        onLeft: (error) => new Issue.DecodeError({ issues: Issue.fromParseError(file, error) }),
        onRight: (checked) => markChecked(schema, checked)
      })
    )
}

export const parseJson = (file: string, text: string): Either.Either<unknown, Issue.DecodeError> =>
  Either.try({
    try: () => JSON.parse(text) as unknown,
    catch: (error) =>
      new Issue.DecodeError({
        issues: [
          new Issue.Issue({
            file,
            path: "$",
            message: `not valid JSON (${error instanceof Error ? error.message : String(error)})`
          })
        ]
      })
  })
