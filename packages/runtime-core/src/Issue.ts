/**
 * The one problem format every fedkit runtime reports: `{ path, message }`, where `path` reads like code
 * (`learning_rate`, `layers[2].units`, `(root)`) and `message` says what was expected and what arrived, in words a
 * user can act on. Messages never carry stack traces, schema identifiers or more than a short, escaped excerpt of the
 * value that was sent.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"
import { clip, describeValue, formatPath, quote } from "./internal/text.js"

/**
 * @since 0.1.0
 * @category models
 */
export const Issue = Schema.Struct({
  path: Schema.String,
  message: Schema.String
}).annotations({ identifier: "Issue" })

/**
 * @since 0.1.0
 * @category models
 */
export type Issue = typeof Issue.Type

/**
 * Formats a path given as segments: `["layers", 2, "units"]` → `layers[2].units`; `[]` → `(root)`. Keys that are not
 * identifiers are quoted and escaped: `["odd key"]`.
 *
 * @since 0.1.0
 */
export { formatPath }

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (path: ReadonlyArray<PropertyKey>, message: string): Issue => ({
  path: formatPath(path),
  message: clip(message)
})

/**
 * Caps a list of issues at `max`, replacing the rest with one issue that says how many were left out.
 *
 * @since 0.1.0
 */
export const cap = (issues: ReadonlyArray<Issue>, max: number): ReadonlyArray<Issue> =>
  issues.length <= max ? issues : [...issues.slice(0, max), omitted(issues.length - max)]

/**
 * The issue that stands for `count` problems left out of a list.
 *
 * @since 0.1.0
 * @category constructors
 */
export const omitted = (count: number): Issue => ({
  path: "(root)",
  message: `${count} more problem${count === 1 ? " was" : "s were"} not listed`
})

/**
 * Drops the issues at or below a path another issue already explains (`a` explains `a.b` and `a[0]`), keeping order.
 *
 * @since 0.1.0
 */
export const merge = (first: ReadonlyArray<Issue>, second: ReadonlyArray<Issue>): ReadonlyArray<Issue> => {
  const covered = (path: string) =>
    first.some((issue) =>
      issue.path === path || issue.path === "(root)" || path.startsWith(issue.path + ".") ||
      path.startsWith(issue.path + "[")
    )
  return [...first, ...second.filter((issue) => !covered(issue.path))]
}

/**
 * Turns a Schema parse error into issues: one per path, alternatives merged ("Expected \"adam\" or \"sgd\""), the noise
 * of optional fields ("Expected undefined") removed, values summarised and escaped. `message` annotations written by
 * the schema's author are kept (clipped to one screen).
 *
 * @since 0.1.0
 */
export const fromParseError = (error: ParseResult.ParseError): ReadonlyArray<Issue> => fromParseIssue(error.issue)

/**
 * @since 0.1.0
 */
export const fromParseIssue = (issue: ParseResult.ParseIssue): ReadonlyArray<Issue> => {
  const raw: Array<Raw> = []
  collect(issue, [], raw)
  return group(raw)
}

type Raw =
  | {
    readonly _tag: "Expected"
    readonly path: string
    readonly expected: string | undefined
    readonly actual: unknown
  }
  | { readonly _tag: "Message"; readonly path: string; readonly message: string }

const hasMessageAnnotation = (ast: AST.Annotated): boolean => Option.isSome(AST.getMessageAnnotation(ast))

/** Lets Effect's own formatter render subtrees whose author wrote a `message` annotation. */
const delegate = (issue: ParseResult.ParseIssue, path: ReadonlyArray<PropertyKey>, out: Array<Raw>) => {
  for (const formatted of ParseResult.ArrayFormatter.formatIssueSync(issue)) {
    out.push({ _tag: "Message", path: formatPath([...path, ...formatted.path]), message: formatted.message })
  }
}

const collect = (issue: ParseResult.ParseIssue, path: ReadonlyArray<PropertyKey>, out: Array<Raw>): void => {
  switch (issue._tag) {
    case "Pointer": {
      const segments = Array.isArray(issue.path) ? issue.path : [issue.path]
      return collect(issue.issue, [...path, ...segments], out)
    }
    case "Composite": {
      if (hasMessageAnnotation(issue.ast)) return delegate(issue, path, out)
      const issues = Array.isArray(issue.issues) ? issue.issues : [issue.issues as ParseResult.ParseIssue]
      // No member of a described union fits at all: its description says it better than the members' list.
      if (AST.isUnion(issue.ast) && isDescribed(issue.ast) && issues.every((inner) => inner._tag === "Type")) {
        out.push({ _tag: "Expected", path: formatPath(path), expected: describeAst(issue.ast), actual: issue.actual })
        return
      }
      for (const inner of issues) collect(inner, path, out)
      return
    }
    case "Refinement":
    case "Transformation":
      if (hasMessageAnnotation(issue.ast)) return delegate(issue, path, out)
      return collect(issue.issue, path, out)
    case "Type":
      if (issue.message !== undefined) {
        out.push({ _tag: "Message", path: formatPath(path), message: issue.message })
      } else if (hasMessageAnnotation(issue.ast)) {
        delegate(issue, path, out)
      } else {
        out.push({
          _tag: "Expected",
          path: formatPath(path),
          expected: AST.isUndefinedKeyword(issue.ast) ? undefined : describeAst(issue.ast),
          actual: issue.actual
        })
      }
      return
    case "Missing":
      if (Option.isSome(AST.getMissingMessageAnnotation(issue.ast))) return delegate(issue, path, out)
      out.push({ _tag: "Message", path: formatPath(path), message: "is required" })
      return
    case "Unexpected":
      out.push({ _tag: "Message", path: formatPath(path), message: unexpectedMessage(issue.message) })
      return
    case "Forbidden":
      out.push({ _tag: "Message", path: formatPath(path), message: "could not be checked" })
      return
  }
}

const unexpectedMessage = (message: string | undefined): string => {
  const allowed = message?.match(/^is unexpected, expected: (.*)$/s)?.[1]
  if (allowed === undefined) return "is not an allowed field"
  const names = allowed.split(" | ").map((name) => name.replace(/^"(.*)"$/s, "$1"))
  return `is not an allowed field; allowed fields are ${listOf(names.map((name) => quote(name)))}`
}

const listOf = (items: ReadonlyArray<string>, max = 12): string => {
  const shown = items.length > max ? [...items.slice(0, max), `… (${items.length} in all)`] : items
  return shown.length <= 1 ? shown.join("") : `${shown.slice(0, -1).join(", ")} and ${shown[shown.length - 1]}`
}

const alternatives = (items: ReadonlyArray<string>, max = 10): string => {
  const unique = [...new Set(items)]
  const shown = unique.length > max ? [...unique.slice(0, max), `… (${unique.length} options)`] : unique
  return shown.length <= 1 ? shown.join("") : `${shown.slice(0, -1).join(", ")} or ${shown[shown.length - 1]}`
}

const isDescribed = (ast: AST.AST): boolean =>
  Option.isSome(AST.getDescriptionAnnotation(ast)) || Option.isSome(AST.getTitleAnnotation(ast))

/** What a value of this schema looks like, in words; never a schema identifier. */
const describeAst = (ast: AST.AST): string => {
  const annotated = AST.getDescriptionAnnotation(ast).pipe(Option.orElse(() => AST.getTitleAnnotation(ast)))
  switch (ast._tag) {
    case "Literal":
      return ast.literal === null ? "null" : typeof ast.literal === "string" ? quote(ast.literal) : String(ast.literal)
    case "UniqueSymbol":
      return "a symbol"
    case "Union":
      return Option.getOrElse(
        annotated,
        () => alternatives(ast.types.filter((member) => !AST.isUndefinedKeyword(member)).map(describeAst))
      )
    case "Enums":
      return alternatives(ast.enums.map(([, value]) => typeof value === "string" ? quote(value) : String(value)))
    case "TypeLiteral":
      return Option.getOrElse(annotated, () => "an object")
    case "TupleType":
      return Option.getOrElse(annotated, () => "an array")
    case "Refinement":
      return Option.getOrElse(annotated, () => describeAst(ast.from))
    case "Transformation":
      return Option.getOrElse(annotated, () => describeAst(ast.from))
    case "Suspend":
      return Option.getOrElse(annotated, () => describeAst(ast.f()))
    case "TemplateLiteral":
      return "a string of the expected form"
    case "StringKeyword":
      return "a string"
    case "NumberKeyword":
      return "a number"
    case "BooleanKeyword":
      return "true or false"
    case "BigIntKeyword":
      return "an integer"
    case "ObjectKeyword":
      return "an object or array"
    default:
      return Option.getOrElse(annotated, () => "a valid value")
  }
}

const group = (raw: ReadonlyArray<Raw>): ReadonlyArray<Issue> => {
  const byPath = new Map<string, Array<Raw>>()
  for (const entry of raw) {
    const list = byPath.get(entry.path)
    if (list === undefined) byPath.set(entry.path, [entry])
    else list.push(entry)
  }
  const issues: Array<Issue> = []
  for (const [path, entries] of byPath) {
    const messages = entries.flatMap((entry) => entry._tag === "Message" ? [clip(entry.message)] : [])
    const expected = entries.flatMap((entry) =>
      entry._tag === "Expected" && entry.expected !== undefined ? [entry] : []
    )
    for (const message of new Set(messages)) issues.push({ path, message })
    if (expected.length > 0) {
      const described = alternatives(expected.map((entry) => entry.expected ?? ""))
      issues.push({ path, message: clip(`Expected ${described}, got ${describeValue(expected[0]!.actual)}`) })
    }
  }
  return issues
}
