/**
 * What a template produces, and how it becomes files. A template returns either a flare-config `FlareJob` (the
 * preferred form: typed, checked as a whole and written by `Job.toFiles`) or a map from a path inside the job folder
 * (`meta.json`, `app/config/config_fed_server.json`) to the file's content, with JSON files as values, never as
 * text, so no user input can be spliced into JSON syntax. Either way the result is checked as a whole FLARE job
 * (flare-config's `JobCheck`) and written with canonical JSON, so equal inputs give byte-identical files.
 *
 * @since 0.1.0
 */
import { CanonicalJson, type FlareTarget, type Issue as FlareIssue, Job, JobMeta } from "@fedkit/flare-config"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { describeValue } from "./internal/text.js"
import * as Issue from "./Issue.js"

/**
 * A rendered job: relative path → file content. Keys are sorted.
 *
 * @since 0.1.0
 * @category models
 */
export type JobFiles = Readonly<Record<string, string>>

/**
 * A job as a file map: JSON files (`*.json`) as values (flare-config's `encode`d configs, or plain objects), other
 * files (scripts under `<app>/custom/`) as text.
 *
 * @since 0.1.0
 * @category models
 */
export type FileMap = Readonly<Record<string, CanonicalJson.JsonValue | string>>

/**
 * What a template returns.
 *
 * @since 0.1.0
 * @category models
 */
export type TemplateOutput = Job.FlareJob | FileMap

/**
 * The template's output is not a valid job: a path is unsafe, a JSON file was given as text, a value is not JSON,
 * or the job breaks a FLARE rule.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidJobFiles extends Schema.TaggedError<InvalidJobFiles>()("InvalidJobFiles", {
  issues: Schema.Array(Issue.Issue)
}) {
  override get message(): string {
    return `The template's output is not a valid job: ${
      this.issues.map((issue) => `${issue.path}: ${issue.message}`).slice(0, 3).join("; ")
    }${this.issues.length > 3 ? `; and ${this.issues.length - 3} more` : ""}.`
  }
}

const MAX_SEGMENTS = 8
const MAX_PATH_LENGTH = 255

/**
 * Why a job path is unsafe, or `undefined` when it is fine: relative, `/`-separated, at most 8 segments and 255
 * characters, each segment a FLARE job name (`JOB_NAME_PATTERN`: no `..`, no hidden files, no spaces).
 *
 * @since 0.1.0
 */
export const checkPath = (path: string): string | undefined => {
  if (path.length === 0) return "the path is empty"
  if (path.length > MAX_PATH_LENGTH) return `the path is longer than ${MAX_PATH_LENGTH} characters`
  const segments = path.split("/")
  if (segments.length > MAX_SEGMENTS) return `the path has more than ${MAX_SEGMENTS} segments`
  const bad = segments.find((segment) => !JobMeta.JOB_NAME_PATTERN.test(segment) || segment.includes("\n"))
  return bad === undefined
    ? undefined
    : "each path segment must start with a letter or digit and hold only letters, digits, \".\", \"_\" and \"-\""
}

const isPlainObject = (u: unknown): u is Record<string, unknown> => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false
  const prototype = Object.getPrototypeOf(u)
  return prototype === Object.prototype || prototype === null
}

/** Finds what keeps `value` from being written as JSON, at most `max` problems. */
const checkEncodable = (value: unknown, path: Array<PropertyKey>, out: Array<Issue.Issue>, seen: Set<object>) => {
  if (out.length >= 20) return
  if (value === null || typeof value === "boolean" || typeof value === "string") return
  if (typeof value === "number") {
    if (!Number.isFinite(value)) out.push(Issue.make(path, `Expected a finite number, got ${describeValue(value)}`))
    return
  }
  if (typeof value !== "object") {
    out.push(Issue.make(path, `Expected a JSON value, got ${describeValue(value)}`))
    return
  }
  if (seen.has(value)) {
    out.push(Issue.make(path, "the value contains itself"))
    return
  }
  seen.add(value)
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) checkEncodable(value[index], [...path, index], out, seen)
  } else if (isPlainObject(value)) {
    for (const key of Object.keys(value)) {
      if (key === "__proto__") out.push(Issue.make([...path, key], "the key \"__proto__\" is not allowed"))
      else checkEncodable(value[key], [...path, key], out, seen)
    }
  } else {
    out.push(Issue.make(path, "Expected a plain JSON object or array, got an instance of a class"))
  }
  seen.delete(value)
}

const fromFlareIssue = (issue: FlareIssue.Issue): Issue.Issue => {
  const inner = issue.path.replace(/^\$\.?/, "")
  const file = issue.file ?? ""
  return { path: inner === "" ? file || "(root)" : file === "" ? inner : `${file}:${inner}`, message: issue.message }
}

/** Checks paths and values of a file map and writes each file. */
const writeFileMap = (output: unknown): Either.Either<JobFiles, InvalidJobFiles> => {
  if (!isPlainObject(output)) {
    return Either.left(
      new InvalidJobFiles({
        issues: [{
          path: "(root)",
          message: `Expected a FlareJob or a map from file path to content, got ${describeValue(output)}`
        }]
      })
    )
  }
  const issues: Array<Issue.Issue> = []
  const files: Array<readonly [string, string]> = []
  for (const path of Object.keys(output).sort()) {
    const where = [path]
    const pathProblem = checkPath(path)
    if (pathProblem !== undefined) {
      issues.push(Issue.make(where, pathProblem))
      continue
    }
    const content = output[path]
    const isJsonFile = path.endsWith(".json")
    if (typeof content === "string") {
      if (isJsonFile) {
        issues.push(Issue.make(where, "return JSON files as values, not text, so that no input is spliced into JSON"))
      } else {
        files.push([path, content])
      }
      continue
    }
    if (!isJsonFile) {
      issues.push(Issue.make(where, "only .json files can be given as values; give other files as text"))
      continue
    }
    const problems: Array<Issue.Issue> = []
    checkEncodable(content, [path], problems, new Set())
    if (problems.length > 0) issues.push(...problems)
    else files.push([path, CanonicalJson.stringify(content as CanonicalJson.JsonValue)])
  }
  return issues.length > 0 ? Either.left(new InvalidJobFiles({ issues })) : Either.right(Object.fromEntries(files))
}

const invalid = (error: { readonly issues: ReadonlyArray<FlareIssue.Issue> }) =>
  new InvalidJobFiles({ issues: error.issues.map(fromFlareIssue) })

/**
 * Checks a template's output as a whole FLARE job and writes its files, sorted by path. A file map is read back
 * with `Job.fromFiles` for `target` (default `"2.9"`) and checked with `JobCheck`; a `FlareJob` goes through
 * `Job.toFiles` (its own target applies). Either way the files are flare-config's `CheckedFiles`, which
 * `@fedkit/job-packager` packages without reading and checking them again. Synchronous: the answer is an `Either`
 * (an `Effect` too).
 *
 * @since 0.1.0
 * @category rendering
 */
export const render = (
  output: unknown,
  options: { readonly target?: FlareTarget.FlareTarget } = {}
): Either.Either<JobFiles, InvalidJobFiles> =>
  Job.isFlareJob(output)
    ? Either.mapLeft(Job.toFiles(output, { order: "path" }), invalid)
    : Either.flatMap(
      writeFileMap(output),
      (files) =>
        Either.mapLeft(Job.checkFiles(files, options.target === undefined ? {} : { target: options.target }), invalid)
    )
