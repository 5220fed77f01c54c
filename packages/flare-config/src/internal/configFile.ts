import { Schema } from "effect"
import { JsonObject, JsonValue } from "../CanonicalJson.js"
import { Key } from "./schemas.js"

/**
 * The top-level keys of a config file that are not FLARE structure become config variables (`"app_script": "x.py"`,
 * used as `"{app_script}"` in the same file). The model keeps them under `variables`; this schema moves them there
 * on decode and back to the top level on encode.
 */
export const withVariables = <Fields extends Schema.Struct.Fields>(
  reserved: ReadonlyArray<string>,
  struct: Schema.Struct<Fields>,
  identifier: string
) => {
  const VariableName = Key.pipe(
    Schema.filter((key) => !reserved.includes(key) || `"${key}" is part of the config structure, not a variable`)
  )
  const Typed = Schema.Struct({
    ...struct.fields,
    variables: Schema.optionalWith(Schema.Record({ key: VariableName, value: JsonValue }), {
      default: () => ({}),
      exact: true
    })
  })
  return Schema.transform(JsonObject, Typed, {
    strict: false,
    decode: (file) => {
      const structure: Record<string, unknown> = {}
      const variables: Record<string, unknown> = {}
      for (const [key, value] of Object.entries(file)) {
        if (reserved.includes(key)) structure[key] = value
        else variables[key] = value
      }
      return { ...structure, variables }
    },
    encode: (typed) => {
      const { variables, ...structure } = typed as { readonly variables: JsonObject } & Record<string, unknown>
      return { ...variables, ...structure }
    }
  }).annotations({ identifier })
}
