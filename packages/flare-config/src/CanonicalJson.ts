/**
 * JSON values as FLARE reads them, and the one deterministic way this package writes them.
 *
 * `stringify` gives byte-identical output for equal values, whatever order their keys were inserted in: FLARE's
 * structural keys first in the order FLARE's own Job API writes them (`format_version`, `id`, `path`, …), every other
 * key by code-point order, 2-space indentation and a trailing newline.
 *
 * @since 0.1.0
 */
import type * as FastCheck from "effect/FastCheck"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { jsonPath } from "./Issue.js"

/**
 * A JSON value: what a FLARE config may hold. Numbers are finite (`NaN` and `Infinity` have no JSON form) and
 * object keys are never `__proto__` (a JSON parser and a JavaScript object disagree on what that key means).
 *
 * @since 0.1.0
 */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | ReadonlyArray<JsonValue>
  | { readonly [key: string]: JsonValue }

/** @since 0.1.0 */
export type JsonObject = { readonly [key: string]: JsonValue }

const isPlainObject = (u: unknown): u is Record<string, unknown> => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false
  const prototype = Object.getPrototypeOf(u)
  return prototype === Object.prototype || prototype === null
}

const describe = (u: unknown): string =>
  u === undefined
    ? "undefined"
    : typeof u === "number"
    ? String(u)
    : typeof u === "object"
    ? "a non-JSON object"
    : typeof u

const at = (
  path: ReadonlyArray<PropertyKey>,
  actual: unknown,
  issue: ParseResult.ParseIssue
): ParseResult.ParseIssue => {
  const [head, ...tail] = path
  return head === undefined ? issue : new ParseResult.Pointer([head, ...tail], actual, issue)
}

/**
 * Validates and copies in one walk, so the value handed out shares nothing mutable with the caller's input and
 * `-0` comes out as `0` (JSON has one zero). The copy is frozen, so it stays valid. `path` is where the walk is (one
 * array, pushed and popped): an issue takes a copy of it.
 */
const copyJson = (
  input: unknown,
  path: Array<PropertyKey>,
  issues: Array<ParseResult.ParseIssue>,
  ast: Schema.Schema.Any["ast"]
): JsonValue => {
  const fail = (actual: unknown, message: string): JsonValue => {
    issues.push(at(path, actual, new ParseResult.Type(ast, actual, message)))
    return null
  }
  if (input === null || typeof input === "boolean" || typeof input === "string") return input
  if (typeof input === "number") {
    if (!Number.isFinite(input)) return fail(input, `Expected a finite number, actual ${describe(input)}`)
    return input === 0 ? 0 : input
  }
  if (Array.isArray(input)) {
    const out: Array<JsonValue> = []
    for (let index = 0; index < input.length; index++) {
      path.push(index)
      if (index in input) out.push(copyJson(input[index], path, issues, ast))
      else fail(undefined, "is a hole")
      path.pop()
    }
    return Object.freeze(out)
  }
  if (isPlainObject(input)) {
    const out: Record<string, JsonValue> = {}
    for (const key of Object.keys(input)) {
      path.push(key)
      if (key === "__proto__") fail(input[key], "the key __proto__ is not allowed")
      else out[key] = copyJson(input[key], path, issues, ast)
      path.pop()
    }
    return Object.freeze(out)
  }
  return fail(
    input,
    `Expected a JSON value (null, boolean, finite number, string, array or object), actual ${describe(input)}`
  )
}

/** Values {@link decodeJson} made: frozen and valid, so checking one again returns it as it is. */
const copies = new WeakSet<object>()

const decodeJson = (input: unknown, ast: Schema.Schema.Any["ast"]) => {
  if (typeof input === "object" && input !== null && copies.has(input)) return ParseResult.succeed(input as JsonValue)
  const issues: Array<ParseResult.ParseIssue> = []
  const value = copyJson(input, [], issues, ast)
  const [first, ...rest] = issues
  if (first !== undefined) {
    return ParseResult.fail(rest.length === 0 ? first : new ParseResult.Composite(ast, input, [first, ...rest]))
  }
  if (typeof value === "object" && value !== null) copies.add(value)
  return ParseResult.succeed(value)
}

// fast-check's JSON generator may produce `-0` and `__proto__` keys, neither of which a JsonValue holds.
const jsonArbitrary = (fc: typeof FastCheck) =>
  fc.jsonValue({ maxDepth: 2, depthSize: "small" }).map(function normalize(value: unknown): JsonValue {
    if (typeof value === "number") return value === 0 ? 0 : value
    if (Array.isArray(value)) return value.map(normalize)
    if (value !== null && typeof value === "object") {
      const out: Record<string, JsonValue> = {}
      for (const [key, item] of Object.entries(value)) if (key !== "__proto__") out[key] = normalize(item)
      return out
    }
    return value as JsonValue
  })

/**
 * Schema for {@link JsonValue}. Decoding copies the input; errors point at the offending element
 * (`args.model[1][2]: Expected a finite number, actual NaN`).
 *
 * @since 0.1.0
 */
export const JsonValue: Schema.Schema<JsonValue> = Schema.declare([], {
  decode: () => (input, _options, ast) => decodeJson(input, ast),
  encode: () => (input, _options, ast) => decodeJson(input, ast)
}, {
  identifier: "JsonValue",
  description: "a JSON value",
  arbitrary: () => (fc) => jsonArbitrary(fc)
})

/**
 * Schema for {@link JsonObject}: a JSON object, as component `args` and free-form meta fields are.
 *
 * @since 0.1.0
 */
export const JsonObject: Schema.Schema<JsonObject> = JsonValue.pipe(
  Schema.filter((value): value is JsonObject => isPlainObject(value), {
    message: () => "Expected a JSON object"
  }),
  Schema.annotations({
    identifier: "JsonObject",
    arbitrary: () => (fc) =>
      fc.dictionary(fc.string().filter((key) => key !== "__proto__"), jsonArbitrary(fc), { maxKeys: 4 })
  })
) as unknown as Schema.Schema<JsonObject>

// The order FLARE's Job API (`FedJobConfig`) writes config keys in, so emitted files read like FLARE's own.
const KEY_RANK: ReadonlyMap<string, number> = new Map(
  [
    "format_version",
    "name",
    "id",
    "path",
    "tasks",
    "direction",
    "executor",
    "filters",
    "args",
    "disabled",
    "workflows",
    "executors",
    "components",
    "task_data_filters",
    "task_result_filters"
  ].map((key, index) => [key, index])
)

/**
 * Orders object keys: FLARE's structural keys first (in FLARE's order), then everything else by UTF-16 code units.
 *
 * @since 0.1.0
 */
export const compareKeys = (a: string, b: string): number => {
  const rankA = KEY_RANK.get(a) ?? KEY_RANK.size
  const rankB = KEY_RANK.get(b) ?? KEY_RANK.size
  if (rankA !== rankB) return rankA - rankB
  return a < b ? -1 : a > b ? 1 : 0
}

const renderNumber = (value: number): string => {
  if (!Number.isFinite(value)) return "null"
  return value === 0 ? "0" : JSON.stringify(value)
}

const renderFloat = (value: number): string => {
  const text = renderNumber(value)
  return /^-?\d+$/.test(text) ? `${text}.0` : text
}

/**
 * @since 0.1.0
 */
export interface StringifyOptions {
  /**
   * JSON paths (`$.workflows[0].args.task_check_period`, as `Issue.jsonPath` writes them) of numbers to write with a
   * fraction even when whole. JavaScript writes `1.0` as `1`, which Python reads as an `int`; the few FLARE
   * constructors that test `isinstance(x, float)` reject that.
   */
  readonly floats?: ReadonlySet<string>
}

/**
 * Writes `value` at `indent`. `path` is where it is, kept only when some number must be written as a float (it costs
 * an array per value otherwise).
 */
const render = (
  value: JsonValue,
  indent: string,
  path: ReadonlyArray<PropertyKey> | undefined,
  floats: ReadonlySet<string>
): string => {
  if (value === null) return "null"
  if (typeof value === "boolean") return value ? "true" : "false"
  if (typeof value === "number") {
    return path !== undefined && floats.has(jsonPath(path)) ? renderFloat(value) : renderNumber(value)
  }
  if (typeof value === "string") return JSON.stringify(value)
  const inner = `${indent}  `
  if (Array.isArray(value)) {
    const items = value as ReadonlyArray<JsonValue>
    if (items.length === 0) return "[]"
    let out = "["
    for (let index = 0; index < items.length; index++) {
      out += `${index === 0 ? "\n" : ",\n"}${inner}${
        render(items[index] as JsonValue, inner, path === undefined ? undefined : [...path, index], floats)
      }`
    }
    return `${out}\n${indent}]`
  }
  const record = value as JsonObject
  const keys = Object.keys(record).sort(compareKeys)
  if (keys.length === 0) return "{}"
  let out = "{"
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index] as string
    out += `${index === 0 ? "\n" : ",\n"}${inner}${JSON.stringify(key)}: ${
      render(record[key] as JsonValue, inner, path === undefined ? undefined : [...path, key], floats)
    }`
  }
  return `${out}\n${indent}}`
}

const noFloats: ReadonlySet<string> = new Set()

// An array index as a key (`"0"`, `"42"`): a JavaScript object lists such keys first, in numeric order.
const INDEX_KEY = /^(?:0|[1-9]\d*)$/

/**
 * `value` with its keys inserted in canonical order, or `undefined` when JSON.stringify would not list them in that
 * order (index-like keys) or not write the value as {@link render} does (a value that is not JSON).
 */
const inCanonicalOrder = (value: JsonValue): JsonValue | undefined => {
  if (value === null || typeof value === "boolean" || typeof value === "string" || typeof value === "number") {
    return value
  }
  if (Array.isArray(value)) {
    const items = value as ReadonlyArray<JsonValue>
    const out: Array<JsonValue> = new Array(items.length)
    for (let index = 0; index < items.length; index++) {
      const item = inCanonicalOrder(items[index] as JsonValue)
      if (item === undefined) return undefined
      out[index] = item
    }
    return out
  }
  if (typeof value !== "object") return undefined
  const record = value as JsonObject
  const keys = Object.keys(record).sort(compareKeys)
  const out: Record<string, JsonValue> = {}
  for (const key of keys) {
    if (INDEX_KEY.test(key) || key === "__proto__") return undefined
    const item = inCanonicalOrder(record[key] as JsonValue)
    if (item === undefined) return undefined
    out[key] = item
  }
  return out
}

/**
 * Deterministic JSON text: stable key order (see {@link compareKeys}), 2-space indentation, a trailing newline.
 * Equal values give byte-identical text.
 *
 * @since 0.1.0
 */
export const stringify = (value: JsonValue, options?: StringifyOptions): string => {
  const floats = options?.floats ?? noFloats
  // JSON.stringify writes a value whose keys are in canonical order exactly as `render` does (same escapes, numbers,
  // indentation and empty containers), natively: a config is written without building its text piece by piece.
  const ordered = floats.size > 0 ? undefined : inCanonicalOrder(value)
  return `${
    ordered === undefined
      ? render(value, "", floats.size > 0 ? [] : undefined, floats)
      : JSON.stringify(ordered, null, 2)
  }\n`
}
