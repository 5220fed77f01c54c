/**
 * The bearer-token file given to `fedkit-dal-server --tokens FILE`.
 *
 * ```json
 * { "tokens": [ { "name": "gateway-1", "token": "…", "prefixes": ["s3://bucket/a/"], "derived": true } ] }
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { DalServerError } from "./DalServerError.js"
import { decodeJson, readJsonFile } from "./internal/jsonFile.js"

/**
 * A key prefix a token may read; plain string prefix, so end folder scopes with "/".
 *
 * @since 0.1.0
 */
export const KeyPrefix = Schema.String.pipe(
  Schema.startsWith("s3://"),
  Schema.annotations({ identifier: "KeyPrefix", description: "a key prefix such as s3://bucket/folder/" })
)

/**
 * @since 0.1.0
 */
export const TokenGrant = Schema.Struct({
  /** Shown in logs and 403 messages instead of the token. */
  name: Schema.NonEmptyTrimmedString,
  token: Schema.Redacted(Schema.NonEmptyString),
  prefixes: Schema.Array(KeyPrefix),
  /** May write derived data (`PUT dataset/{name}/{file}`, any name). */
  derived: Schema.optionalWith(Schema.Boolean, { exact: true })
}).annotations({ identifier: "TokenGrant" })

/**
 * @since 0.1.0
 */
export type TokenGrant = typeof TokenGrant.Type

/**
 * @since 0.1.0
 */
export const TokenFile = Schema.Struct({ tokens: Schema.Array(TokenGrant) }).annotations({ identifier: "TokenFile" })

/**
 * @since 0.1.0
 */
export type TokenFile = typeof TokenFile.Type

/**
 * Reads and validates a token file.
 *
 * @since 0.1.0
 */
export const load = (file: string): Effect.Effect<ReadonlyArray<TokenGrant>, DalServerError> =>
  readJsonFile(file, "token").pipe(
    Effect.flatMap((json) => decodeJson(TokenFile, json, file, "token")),
    Effect.map((decoded) => decoded.tokens)
  )
