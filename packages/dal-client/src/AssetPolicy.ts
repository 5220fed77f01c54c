/**
 * The asset policy the DAL serves for a dataset (`GET policies/{key}`), e.g.
 * `{"permissions": {"explore": true, "restrict_functions": true, "allowed_function_names": ["max_column"]}, "privacy": {}}`.
 * Fields this module does not know are kept as they came, so newer policies still decode.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

const Rest = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * The `permissions` object. Absent flags are kept absent: {@link mayRun} decides what absence means.
 *
 * @since 0.1.0
 */
export const Permissions = Schema.Struct(
  {
    explore: Schema.optional(Schema.Boolean),
    restrict_functions: Schema.optional(Schema.Boolean),
    allowed_function_names: Schema.optional(Schema.Array(Schema.String))
  },
  Rest
).annotations({ identifier: "Permissions" })
/**
 * @since 0.1.0
 */
export type Permissions = typeof Permissions.Type

/**
 * An asset policy.
 *
 * @since 0.1.0
 */
export const AssetPolicy = Schema.Struct(
  {
    permissions: Permissions,
    privacy: Schema.optional(Rest)
  },
  Rest
).annotations({ identifier: "AssetPolicy" })
/**
 * @since 0.1.0
 */
export type AssetPolicy = typeof AssetPolicy.Type

/**
 * May the function `functionName` run on the dataset? Fails closed: it may when `restrict_functions` is explicitly
 * `false`, or when the name is in `allowed_function_names`; a policy that omits `restrict_functions` restricts.
 *
 * @since 0.1.0
 */
export const mayRun = (policy: AssetPolicy, functionName: string): boolean =>
  policy.permissions.restrict_functions === false ||
  (policy.permissions.allowed_function_names ?? []).includes(functionName)
