import { Either, Schema } from "effect"
import * as Issue from "../Issue.js"

const options = { errors: "all", onExcessProperty: "error" } as const

export const decodeWith = <A, I>(schema: Schema.Schema<A, I>, file: string) => (input: unknown) =>
  Schema.decodeUnknownEither(schema, options)(input).pipe(
    Either.mapLeft((error) => new Issue.DecodeError({ issues: Issue.fromParseError(file, error) }))
  )

/** Checks an already typed value (built in code rather than read from a file) against the schema's Type side. */
export const validateWith = <A, I>(schema: Schema.Schema<A, I>, file: string) => (value: A) =>
  Schema.validateEither(schema, options)(value).pipe(
    Either.mapLeft((error) => new Issue.DecodeError({ issues: Issue.fromParseError(file, error) }))
  )

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
