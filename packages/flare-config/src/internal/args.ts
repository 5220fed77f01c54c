import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { JsonObject, JsonValue } from "../CanonicalJson.js"
import { type Entry, isBuiltFor, isBuiltWithoutVariables } from "./entry.js"

/** FLARE's system variables (`SystemVarName`), filled in per site when the job starts. */
export const SYSTEM_VARIABLES: ReadonlySet<string> = new Set([
  "SITE_NAME",
  "WORKSPACE",
  "JOB_ID",
  "ROOT_URL",
  "CP_URL",
  "RELAY_URL",
  "SECURE_MODE",
  "JOB_CUSTOM_DIR",
  "JOB_CONFIG_DIR"
])

/**
 * The variable a string refers to as a whole (`"{name}"`, surrounding spaces allowed), as FLARE's `_EnvUpdater`
 * reads it: such a string is replaced by the variable's value, whatever its type, and by null when no variable has
 * that name.
 */
export const wholeReference = (value: string): string | undefined => {
  const parts = value.trim().split(/[{}]/)
  return parts.length === 3 && parts[0] === "" && parts[2] === "" ? parts[1] : undefined
}

/** `{$NAME}` anywhere in a string: FLARE substitutes the environment variable of the site process. */
export const ENVIRONMENT_REFERENCE = /\{\$[^{}]*\}/

const RUNTIME = Symbol("runtime")

// Config variables are resolved the way FLARE's resolve_var_refs does before it builds components. Values only known
// at runtime (system variables, `{$ENV}`, `{@def:…}` invocations) cannot be checked here.
const resolve = (value: JsonValue, variables: JsonObject, depth: number): JsonValue | typeof RUNTIME => {
  if (typeof value === "string") {
    if (value.trim().startsWith("{@")) return RUNTIME
    const name = wholeReference(value)
    if (name === undefined) return value
    if (SYSTEM_VARIABLES.has(name) || name.startsWith("$")) return RUNTIME
    const bound = variables[name]
    if (bound === undefined) return null
    return depth > 20 ? RUNTIME : resolve(bound, variables, depth + 1)
  }
  const keep = (item: JsonValue) => {
    const resolved = resolve(item, variables, depth)
    return resolved === RUNTIME ? item : resolved
  }
  if (Array.isArray(value)) return (value as ReadonlyArray<JsonValue>).map(keep)
  if (value !== null && typeof value === "object") {
    const out: Record<string, JsonValue> = {}
    for (const [key, item] of Object.entries(value)) out[key] = keep(item)
    return out
  }
  return value
}

const noNames: ReadonlySet<string> = new Set()

/** The args as FLARE will see them, and the names whose values are only known at runtime. */
export const resolveArgs = (
  args: JsonObject,
  variables: JsonObject
): { readonly args: JsonObject; readonly runtime: ReadonlySet<string> } => {
  if (isBuiltWithoutVariables(args)) return { args, runtime: noNames }
  const out: Record<string, JsonValue> = {}
  const runtime = new Set<string>()
  for (const [name, value] of Object.entries(args)) {
    const resolved = resolve(value, variables, 0)
    if (resolved === RUNTIME) runtime.add(name)
    else out[name] = resolved
  }
  return { args: out, runtime }
}

export interface ArgIssue {
  readonly path: ReadonlyArray<PropertyKey>
  readonly message: string
}

/** Checks args against the entry's constructor schema; runtime-valued args are taken on trust. */
export const checkArgs = (entry: Entry, args: JsonObject, variables: JsonObject): ReadonlyArray<ArgIssue> => {
  if (isBuiltFor(entry, args)) return []
  const resolved = resolveArgs(args, variables)
  const decoded = Schema.decodeUnknownEither(entry.args, { errors: "all", onExcessProperty: "error" })(resolved.args)
  if (Either.isRight(decoded)) return []
  return ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
    .filter((issue) => !(typeof issue.path[0] === "string" && resolved.runtime.has(issue.path[0])))
    .map((issue) => ({ path: issue.path, message: `${entry.name}: ${issue.message}` }))
}
