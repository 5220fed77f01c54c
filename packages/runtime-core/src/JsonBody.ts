/**
 * Reading an untrusted request body as JSON, safely: the size is measured in UTF-8 bytes before anything else, the
 * nesting depth is bounded before any value is built, syntax errors come with a line, a column and the path being
 * read, and the things `JSON.parse` accepts silently are refused (prototype keys, duplicate keys, numbers that do not
 * survive conversion, NUL characters, unpaired surrogates, a root that is not an object).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { scan, type ScanIssue } from "./internal/jsonScanner.js"
import { withoutStack } from "./internal/stackless.js"
import * as Issue from "./Issue.js"
import { InvalidPayload, MalformedJson, type PayloadRejected, PayloadTooLarge } from "./Rejection.js"

/**
 * @since 0.1.0
 * @category models
 */
export const Limits = Schema.Struct({
  /** The largest body accepted, in UTF-8 bytes. */
  maxBytes: Schema.Int.pipe(Schema.between(2, 64 * 1024 * 1024)),
  /** The deepest nesting of objects and arrays accepted; the payload object itself is depth 1. */
  maxDepth: Schema.Int.pipe(Schema.between(1, 1000)),
  /** How many problems one rejection lists at most. */
  maxIssues: Schema.Int.pipe(Schema.between(1, 1000))
}).annotations({ identifier: "Limits" })

/**
 * @since 0.1.0
 * @category models
 */
export type Limits = typeof Limits.Type

/**
 * 1 MiB, 32 levels, 50 issues.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultLimits: Limits = { maxBytes: 1024 * 1024, maxDepth: 32, maxIssues: 50 }

/**
 * Fills in defaults and checks the result (a limit of 0 or a negative depth is a programming error worth a clear
 * message, not a runtime that refuses everything).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeLimits = (overrides: Partial<Limits> = {}): Either.Either<Limits, InvalidPayload> =>
  Schema.decodeUnknownEither(Limits, { errors: "all", onExcessProperty: "error" })({
    ...defaultLimits,
    ...overrides
  }).pipe(Either.mapLeft((error) => new InvalidPayload({ issues: Issue.fromParseError(error) })))

/**
 * A JSON object as parsed from a body: own enumerable keys only, no prototype keys.
 *
 * @since 0.1.0
 * @category models
 */
export type JsonRecord = { readonly [key: string]: unknown }

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

const toIssues = (issues: ReadonlyArray<ScanIssue>, total: number): ReadonlyArray<Issue.Issue> => {
  const listed = issues.map((issue) => Issue.make(issue.path, issue.message))
  return total > listed.length ? [...listed, Issue.omitted(total - listed.length)] : listed
}

/**
 * A parsed body and the content problems found in it (prototype keys, duplicate keys, imprecise numbers, NUL
 * characters, unpaired surrogates). The value is still sound to decode, so a caller can report these problems
 * together with a schema's own findings.
 *
 * @since 0.1.0
 * @category models
 */
export interface Scanned {
  readonly value: JsonRecord
  readonly issues: ReadonlyArray<Issue.Issue>
}

/**
 * Parses a body but keeps content problems as data (see {@link Scanned}). Size, encoding, syntax, depth and a
 * root that is not an object still reject: there is nothing sound to decode after those.
 *
 * @since 0.1.0
 * @category parsing
 */
export const scanEither = (
  body: string | Uint8Array,
  limits: Limits = defaultLimits
): Either.Either<Scanned, PayloadRejected> => {
  const bytes = typeof body === "string" ? Buffer.byteLength(body, "utf8") : body.byteLength
  if (bytes > limits.maxBytes) {
    return Either.left(withoutStack(() => PayloadTooLarge.fromSizes(limits.maxBytes, bytes)))
  }
  const decoded = typeof body === "string" ? Either.right(body) : Either.try(() => utf8.decode(body))
  if (Either.isLeft(decoded)) {
    return Either.left(
      withoutStack(() =>
        new MalformedJson({
          line: 1,
          column: 1,
          issues: [{ path: "(root)", message: "the body is not valid UTF-8 text" }]
        })
      )
    )
  }
  const text = decoded.right
  const result = scan(text, limits)
  switch (result._tag) {
    case "Syntax": {
      const { column, line } = result.position
      return Either.left(
        withoutStack(() =>
          new MalformedJson({
            line,
            column,
            issues: [Issue.make(result.path, `line ${line}, column ${column}: ${result.message}`)]
          }, { disableValidation: true })
        )
      )
    }
    case "TooDeep": {
      const { column, line } = result.position
      const message = `nesting is deeper than ${limits.maxDepth} levels (line ${line}, column ${column}); flatten it`
      return Either.left(
        withoutStack(() =>
          new InvalidPayload({ issues: [Issue.make(result.path, message)] }, { disableValidation: true })
        )
      )
    }
    case "Scanned": {
      if (!result.rootIsObject) {
        const message = `Expected a JSON object ({"name": value, …}), got ${result.rootKind}`
        return Either.left(
          withoutStack(() => new InvalidPayload({ issues: [{ path: "(root)", message }] }, { disableValidation: true }))
        )
      }
      return Either.right({ value: JSON.parse(text) as JsonRecord, issues: toIssues(result.issues, result.total) })
    }
  }
}

/**
 * Parses a body, returning the JSON object it holds; any content problem rejects it.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseEither = (
  body: string | Uint8Array,
  limits: Limits = defaultLimits
): Either.Either<JsonRecord, PayloadRejected> =>
  Either.flatMap(scanEither(body, limits), ({ issues, value }) =>
    issues.length === 0
      ? Either.right(value)
      : Either.left(withoutStack(() => new InvalidPayload({ issues }))))

/**
 * @since 0.1.0
 * @category parsing
 */
export const parse = (
  body: string | Uint8Array,
  limits: Limits = defaultLimits
): Effect.Effect<JsonRecord, PayloadRejected> => Effect.suspend(() => parseEither(body, limits))
