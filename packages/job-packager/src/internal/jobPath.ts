/** The rules of job paths (see `JobPath.ts`). */
import { JobMeta } from "@fedkit/flare-config"
import * as Either from "effect/Either"
import type { Placement } from "../JobPath.js"

export const JOB_NAME_PATTERN: RegExp = JobMeta.JOB_NAME_PATTERN
export const MAX_PATH_BYTES = 1024
export const MAX_SEGMENT_BYTES = 255

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
const NOT_PORTABLE = /[:*?"<>|]/
const SIGNATURE_FILE = /^\.__nvfl/

export const check = (path: string): Either.Either<Placement, string> => {
  const problem = generalProblem(path)
  if (problem !== undefined) return Either.left(problem)
  const [first, second, ...rest] = path.split("/") as [string, ...Array<string>]
  if (second === undefined) {
    return first === "meta.json"
      ? Either.right({ _tag: "Meta" })
      : Either.left("only meta.json may sit at the job root; put other files under <app>/config or <app>/custom")
  }
  if (!JOB_NAME_PATTERN.test(first)) return Either.left(APP_NAME)
  if (second === "config") {
    const [file, ...deeper] = rest
    if (file === undefined || deeper.length > 0 || !file.endsWith(".json") || !JOB_NAME_PATTERN.test(file)) {
      return Either.left("a config file is <app>/config/<name>.json with a plain file name")
    }
    return Either.right({ _tag: "Config", app: first, file })
  }
  if (second === "custom") {
    if (rest.length === 0) return Either.left("a custom file needs a name under <app>/custom/")
    if (rest.some((segment) => SIGNATURE_FILE.test(segment))) return Either.left(SIGNATURE)
    return Either.right({ _tag: "Custom", app: first, file: rest.join("/") })
  }
  return Either.left(LAYOUT)
}

export const checkFolder = (path: string): Either.Either<void, string> => {
  const problem = generalProblem(path)
  if (problem !== undefined) return Either.left(problem)
  const [app, second, ...rest] = path.split("/") as [string, ...Array<string>]
  if (!JOB_NAME_PATTERN.test(app)) return Either.left(APP_NAME)
  if (second === undefined || (second === "config" && rest.length === 0)) return Either.right(undefined)
  if (second !== "custom") return Either.left(LAYOUT)
  return rest.some((segment) => SIGNATURE_FILE.test(segment)) ? Either.left(SIGNATURE) : Either.right(undefined)
}

const APP_NAME = "the app name must start with a letter or digit and hold only letters, digits, . _ -"
const SIGNATURE = "names starting with .__nvfl are FLARE's signature files and cannot be part of a job"
const LAYOUT = "not part of a FLARE job: use meta.json, <app>/config/<name>.json or <app>/custom/<path>"

/** The rules every path obeys, wherever in the layout it sits. */
const generalProblem = (path: string): string | undefined => {
  if (typeof path !== "string" || path.length === 0) return "the path is empty"
  if (CONTROL.test(path)) return "the path contains a control character (NUL, newline, …)"
  if (path.includes("\\")) return "the path contains a backslash; use / to separate folders"
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) return "the path is absolute; give it relative to the job folder"
  if (Buffer.byteLength(path, "utf8") > MAX_PATH_BYTES) return `the path is longer than ${MAX_PATH_BYTES} bytes`
  if (path.normalize("NFC") !== path) return "the path is not in Unicode normal form C"
  const segments = path.split("/")
  if (segments.some((segment) => segment === "..")) return "the path climbs out with .."
  if (segments.some((segment) => segment === "" || segment === ".")) {
    return "the path is not normalized (empty or . segment, or a trailing /)"
  }
  for (const segment of segments) {
    if (Buffer.byteLength(segment, "utf8") > MAX_SEGMENT_BYTES) {
      return `a path segment is longer than ${MAX_SEGMENT_BYTES} bytes`
    }
    if (NOT_PORTABLE.test(segment)) return "the path contains one of : * ? \" < > |"
  }
  return undefined
}

export const collisions = (paths: Iterable<string>): Array<readonly [string, string]> => {
  const problems: Array<readonly [string, string]> = []
  const byFolded = new Map<string, string>()
  const folders = new Map<string, string>()
  const all = [...paths].sort(compare)
  for (const path of all) {
    const folded = path.toLowerCase()
    const other = byFolded.get(folded)
    if (other !== undefined) {
      problems.push([path, `collides with ${JSON.stringify(other)} on case-insensitive file systems`])
      continue
    }
    byFolded.set(folded, path)
    const segments = folded.split("/")
    for (let i = 1; i < segments.length; i++) folders.set(segments.slice(0, i).join("/"), path)
  }
  for (const path of all) {
    const inside = folders.get(path.toLowerCase())
    if (inside !== undefined) problems.push([path, `is a file, but ${JSON.stringify(inside)} needs it to be a folder`])
  }
  return problems
}

export const compare = (a: string, b: string): number => {
  // Below U+D800, UTF-16 code units sort as UTF-8 bytes do: decide there without encoding (paths are mostly ASCII).
  const length = Math.min(a.length, b.length)
  for (let index = 0; index < length; index++) {
    const x = a.charCodeAt(index)
    const y = b.charCodeAt(index)
    if (x === y) continue
    if (x < 0xd800 && y < 0xd800) return x - y
    return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"))
  }
  return a.length - b.length
}

export const show = (path: string): string => JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}…` : path)
