/**
 * The fault-injection file given to `fedkit-dal-server --faults FILE`, the JSON form of `DalServer.FaultRule`s.
 *
 * ```json
 * { "faults": [
 *     { "method": "GET", "key": "s3://bucket/big.bin", "times": 2, "fault": { "_tag": "ResetMidBody", "afterBytes": 65536 } },
 *     { "key": { "regex": "\\.csv$" }, "times": "always", "fault": { "_tag": "Status", "status": 503, "retryAfter": "1" } } ] }
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { DalServerError } from "./DalServerError.js"
import type { FaultRule as Rule } from "./internal/faults.js"
import { decodeJson, readJsonFile } from "./internal/jsonFile.js"

const Bytes = Schema.NonNegativeInt
const Millis = Schema.NonNegativeInt

/**
 * @since 0.1.0
 */
export const Fault = Schema.Union(
  Schema.TaggedStruct("Status", {
    status: Schema.Int.pipe(Schema.between(100, 599)),
    retryAfter: Schema.optionalWith(Schema.String, { exact: true })
  }),
  Schema.TaggedStruct("ResetMidBody", { afterBytes: Bytes }),
  Schema.TaggedStruct("TruncateBody", { afterBytes: Bytes }),
  Schema.TaggedStruct("StallHeaders", { millis: Millis }),
  Schema.TaggedStruct("StallBody", { afterBytes: Bytes, millis: Millis })
).annotations({ identifier: "Fault" })

/** `{ "regex": "…" }` in JSON, a RegExp once decoded. */
const KeyRegex = Schema.transformOrFail(Schema.Struct({ regex: Schema.String }), Schema.instanceOf(RegExp), {
  strict: true,
  decode: ({ regex }, _, ast) =>
    ParseResult.try({
      try: () => new RegExp(regex),
      catch: () => new ParseResult.Type(ast, regex, `invalid regular expression ${regex}`)
    }),
  encode: (regExp) => ParseResult.succeed({ regex: regExp.source })
})

/** A count, or "always". */
const Times = Schema.Union(
  Schema.NonNegativeInt,
  Schema.transform(Schema.Literal("always"), Schema.Number, {
    strict: true,
    decode: () => Number.POSITIVE_INFINITY,
    encode: () => "always" as const
  })
)

/**
 * @since 0.1.0
 */
export const FaultRule = Schema.Struct({
  method: Schema.optionalWith(Schema.Literal("GET", "HEAD", "PUT"), { exact: true }),
  endpoint: Schema.optionalWith(Schema.Literal("datasets", "policies", "dataset"), { exact: true }),
  key: Schema.optionalWith(Schema.Union(Schema.String, KeyRegex), { exact: true }),
  times: Schema.optionalWith(Times, { exact: true }),
  fault: Fault
}).annotations({ identifier: "FaultRule" })

/**
 * @since 0.1.0
 */
export const FaultFile = Schema.Struct({ faults: Schema.Array(FaultRule) }).annotations({ identifier: "FaultFile" })

/**
 * Reads and validates a fault file.
 *
 * @since 0.1.0
 */
export const load = (file: string): Effect.Effect<ReadonlyArray<Rule>, DalServerError> =>
  readJsonFile(file, "fault").pipe(
    Effect.flatMap((json) => decodeJson(FaultFile, json, file, "fault")),
    Effect.map((decoded) => decoded.faults)
  )
