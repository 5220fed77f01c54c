import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as fs from "node:fs/promises"
import { DalServerError } from "../DalServerError.js"

/** Issues as `path: message`, joined on one line. */
export const formatIssues = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => `${issue.path.length === 0 ? "(root)" : issue.path.join(".")}: ${issue.message}`)
    .join("; ")

/** Reads a JSON file, failing with a DalServerError naming the file. */
export const readJsonFile = (file: string, what: string) =>
  Effect.gen(function*() {
    const text = yield* Effect.tryPromise({
      try: () => fs.readFile(file, "utf8"),
      catch: (cause) =>
        new DalServerError({ reason: "InvalidFile", path: file, detail: `cannot read the ${what} file`, cause })
    })
    return yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      // no cause: JSON.parse quotes the surrounding text, which may be a token
      catch: () =>
        new DalServerError({ reason: "InvalidFile", path: file, detail: `the ${what} file is not valid JSON` })
    })
  })

/** Decodes the JSON of a file with `schema` (unknown fields kept), failing with the file and every issue. */
export const decodeJson = <A, I>(schema: Schema.Schema<A, I>, json: unknown, file: string, what: string) =>
  Schema.decodeUnknown(schema, { errors: "all", onExcessProperty: "preserve" })(json).pipe(
    Effect.mapError((error) =>
      new DalServerError({ reason: "InvalidFile", path: file, detail: `invalid ${what} file: ${formatIssues(error)}` })
    )
  )
