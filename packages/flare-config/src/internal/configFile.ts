// What `config_fed_server.json` and `config_fed_client.json` have in common: FLARE reads both with the same JSON
// config machinery (format version 2, `components`, filter chains, config variables), so their schema plumbing and
// codec live here once; ServerConfig and ClientConfig only say what is specific to their side.
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as CanonicalJson from "../CanonicalJson.js"
import { IdentifiedComponent } from "../Component.js"
import { FilterChain } from "../Filters.js"
import type { DecodeError } from "../Issue.js"
import { checkedWith, isChecked, markChecked } from "./checked.js"
import { decodeWith, parseJson, validateWith } from "./decode.js"
import { Key } from "./schemas.js"

/** The structure both sides share, after their own required list (`workflows`, `executors`). */
export const sharedFields = {
  components: Schema.optionalWith(Schema.Array(IdentifiedComponent), { default: () => [], exact: true }),
  task_data_filters: Schema.optionalWith(Schema.Array(FilterChain), { default: () => [], exact: true }),
  task_result_filters: Schema.optionalWith(Schema.Array(FilterChain), { default: () => [], exact: true })
}

/** What a config's `make` fills in when left out: `format_version`, and the lists and variables that may be empty. */
export const defaults = {
  format_version: 2,
  components: [],
  task_data_filters: [],
  task_result_filters: [],
  variables: {}
} as const

/** The input of a config's `make`: the config without `format_version`; lists that are empty may be left out. */
export type Input<Config extends { readonly [K in keyof typeof defaults]: unknown }> =
  & Omit<Config, keyof typeof defaults>
  & { readonly [K in Exclude<keyof typeof defaults, "format_version">]?: Config[K] }

/**
 * The top-level keys of a config file that are not FLARE structure become config variables (`"app_script": "x.py"`,
 * used as `"{app_script}"` in the same file). The model keeps them under `variables`; this schema moves them there
 * on decode and back to the top level on encode. The structure's own keys are the struct's fields, so a key added
 * to a config's structure can never be taken for a variable.
 */
export const withVariables = <Fields extends Schema.Struct.Fields>(
  struct: Schema.Struct<Fields>,
  identifier: string
) => {
  const reserved: ReadonlyArray<string> = Object.keys(struct.fields)
  const VariableName = Key.pipe(
    Schema.filter((key) => !reserved.includes(key) || `"${key}" is part of the config structure, not a variable`)
  )
  const Typed = Schema.Struct({
    ...struct.fields,
    variables: Schema.optionalWith(Schema.Record({ key: VariableName, value: CanonicalJson.JsonValue }), {
      default: () => ({}),
      exact: true
    })
  })
  return Schema.transform(CanonicalJson.JsonObject, Typed, {
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
      const { variables, ...structure } = typed as
        & { readonly variables: CanonicalJson.JsonObject }
        & Record<string, unknown>
      return { ...variables, ...structure }
    }
  }).annotations({ identifier })
}

/**
 * A config file's text. A config the schema checked (frozen, see `markChecked`) is already its JSON form but for its
 * variables, which go back to the top level, so it is written as it is; any other is encoded by the schema first,
 * which checks it.
 */
export const write = <Config>(
  schema: Schema.Schema<Config, CanonicalJson.JsonObject>,
  config: Config,
  options?: CanonicalJson.StringifyOptions
): string => {
  if (!isChecked(schema, config)) return CanonicalJson.stringify(Schema.encodeSync(schema)(config), options)
  const { variables, ...structure } = config as Config & { readonly variables: CanonicalJson.JsonObject }
  return CanonicalJson.stringify({ ...variables, ...structure } as CanonicalJson.JsonObject, options)
}

/**
 * `validate` for a config assembled from checked parts: `assembled` overrides some of the typed config's fields with
 * schemas that accept checked values as they are (`checkedWith`). A config whose parts are all checked is then only
 * checked for how they are put together; any other config, or one that fails, is validated in full (so its issues
 * are reported as they always were).
 */
export const validateAssembled = <Config>(
  schema: Schema.Schema<Config, CanonicalJson.JsonObject>,
  file: string,
  assembled: Schema.Struct.Fields
) => {
  const typed = (schema as unknown as { readonly to: Schema.Struct<Schema.Struct.Fields> }).to
  const light = validateWith(
    Schema.Struct({ ...typed.fields, ...assembled }).annotations({
      parseOptions: { onExcessProperty: "error" }
    }) as unknown as Schema.Schema<Config>,
    file
  )
  const full = validateWith(schema, file)
  return (config: Config): Either.Either<Config, DecodeError> => {
    if (isChecked(schema, config)) return Either.right(config)
    const quick = light(config)
    return Either.isRight(quick) ? Either.right(markChecked(schema, quick.right as Config)) : full(config)
  }
}

/**
 * Checking, decoding and encoding a config file with its schema; issues name `file` (the file's name unless the
 * caller gives the path it read).
 */
export const codec = <Config>(schema: Schema.Schema<Config, CanonicalJson.JsonObject>, file: string) => {
  const decode = (input: unknown, name: string = file): Either.Either<Config, DecodeError> =>
    decodeWith(schema, name)(input)
  const encode = (config: Config): CanonicalJson.JsonObject => Schema.encodeSync(schema)(config)
  return {
    validate: validateWith(schema, file),
    decode,
    fromJson: (text: string, name: string = file): Either.Either<Config, DecodeError> =>
      Either.flatMap(parseJson(name, text), (input) => decode(input, name)),
    encode,
    toJson: (config: Config): string => write(schema, config)
  }
}

/**
 * One config file, server or client: its `make` and its codec, from its schema (`withVariables`). `assembled` says
 * how `make` accepts the side's builder-made list without checking its components again.
 */
export const define = <Config extends { readonly [K in keyof typeof defaults]: unknown }, const File extends string>(
  schema: Schema.Schema<Config, CanonicalJson.JsonObject>,
  file: { readonly name: File; readonly assembled: Schema.Struct.Fields }
) => {
  const validateBuilt = validateAssembled(schema, file.name, {
    ...file.assembled,
    components: Schema.Array(checkedWith(IdentifiedComponent))
  })
  return {
    name: file.name,
    make: (input: Input<Config>): Either.Either<Config, DecodeError> =>
      validateBuilt({ ...defaults, ...input } as Config),
    ...codec(schema, file.name)
  }
}
