import type { JsonObject, JsonValue } from "../CanonicalJson.js"
import * as Issue from "../Issue.js"
import type { Key } from "./locate.js"

export type Issues = Array<Issue.Issue>

export const issueAt = (file: string, path: ReadonlyArray<Key>, message: string) =>
  new Issue.Issue({ file, path: Issue.jsonPath(path), message })

export const isObject = (value: JsonValue | undefined): value is JsonObject =>
  value !== null && value !== undefined && typeof value === "object" && !Array.isArray(value)
