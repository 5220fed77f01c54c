/**
 * The asset-policy file given to `fedkit-dal-server --policies FILE`: key or folder key → policy JSON.
 *
 * ```json
 * { "policies": {
 *     "s3://bucket/dir/": { "permissions": { "explore": true, "restrict_functions": true,
 *                                            "allowed_function_names": ["x"] }, "privacy": {} },
 *     "s3://bucket/dir/file.csv": { "permissions": { "explore": false } } } }
 * ```
 *
 * The known fields are type-checked; unknown fields are kept and served as they are.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { DalServerError } from "./DalServerError.js"
import { decodeJson, readJsonFile } from "./internal/jsonFile.js"
import { parseKey } from "./internal/keys.js"

/**
 * @since 0.1.0
 */
export const Permissions = Schema.Struct({
  explore: Schema.optionalWith(Schema.Boolean, { exact: true }),
  restrict_functions: Schema.optionalWith(Schema.Boolean, { exact: true }),
  allowed_function_names: Schema.optionalWith(Schema.Array(Schema.String), { exact: true })
}).annotations({ identifier: "Permissions" })

/**
 * @since 0.1.0
 */
export const Policy = Schema.Struct({
  permissions: Schema.optionalWith(Permissions, { exact: true }),
  privacy: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { exact: true })
}).annotations({ identifier: "Policy" })

/**
 * @since 0.1.0
 */
export type Policy = typeof Policy.Type

/**
 * Key (`s3://bucket/path`, a file) or folder key (`s3://bucket/path/`, everything below it) → policy. Keys are
 * checked by a filter rather than a key schema: a Record drops (or, preserving, keeps) keys its key schema rejects.
 *
 * @since 0.1.0
 */
export const Policies = Schema.Record({ key: Schema.String, value: Policy }).pipe(
  Schema.filter((policies) =>
    Object.keys(policies).flatMap((key) =>
      Either.match(parseKey(key), { onLeft: (e) => [{ path: [key], message: e.reason }], onRight: () => [] })
    )
  ),
  Schema.annotations({ identifier: "Policies" })
)

/**
 * @since 0.1.0
 */
export const PolicyFile = Schema.Struct({ policies: Policies }).annotations({ identifier: "PolicyFile" })

/**
 * Reads and validates a policy file. The result is the file's JSON as written (unknown fields, key order).
 *
 * @since 0.1.0
 */
export const load = (file: string): Effect.Effect<Record<string, unknown>, DalServerError> =>
  Effect.gen(function*() {
    const json = yield* readJsonFile(file, "policy")
    yield* decodeJson(PolicyFile, json, file, "policy")
    return (json as { readonly policies: Record<string, unknown> }).policies
  })
