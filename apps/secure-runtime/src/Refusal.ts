/**
 * What can go wrong with one render, in the terms the CLI and the HTTP API answer in: the payload was refused (the
 * user's to fix), the dataset map was refused (the operator's), or the runtime module failed (its author's). Errors
 * are read by their `_tag` and shape rather than by class, because a runtime module may carry its own copy of
 * `@fedkit/runtime-core`.
 *
 * @since 0.1.0
 */
import { Issue } from "@fedkit/runtime-core"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { describeError } from "./internal/text.js"

/**
 * @since 0.1.0
 * @category models
 */
export const RejectionKind = Schema.Literal("PayloadTooLarge", "MalformedJson", "InvalidPayload")

/**
 * @since 0.1.0
 * @category models
 */
export type RejectionKind = typeof RejectionKind.Type

/**
 * The payload was refused: too large (HTTP 413), not JSON (400) or not a valid payload (422). CLI exit code 3.
 *
 * @since 0.1.0
 * @category errors
 */
export class PayloadRefused extends Schema.TaggedError<PayloadRefused>()("PayloadRefused", {
  kind: RejectionKind,
  summary: Schema.String,
  issues: Schema.Array(Issue.Issue)
}) {
  override get message(): string {
    return this.summary
  }
}

/**
 * The `dataset2gw` map was refused.
 *
 * @since 0.1.0
 * @category errors
 */
export class Dataset2GwRefused extends Schema.TaggedError<Dataset2GwRefused>()("Dataset2GwRefused", {
  summary: Schema.String,
  issues: Schema.Array(Issue.Issue)
}) {
  override get message(): string {
    return this.summary
  }
}

/**
 * The runtime module failed: its template threw, returned something that is not a valid FLARE job, or its template
 * folder is unusable. A fault of the module, never of the payload: HTTP 500, CLI exit code 4.
 *
 * @since 0.1.0
 * @category errors
 */
export class TemplateBroken extends Schema.TaggedError<TemplateBroken>()("TemplateBroken", {
  reason: Schema.String,
  issues: Schema.Array(Issue.Issue)
}) {
  override get message(): string {
    return `The runtime's template failed: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export type RenderFailure = PayloadRefused | Dataset2GwRefused | TemplateBroken

const REJECTIONS: ReadonlyArray<RejectionKind> = ["PayloadTooLarge", "MalformedJson", "InvalidPayload"]

/** Reads `issues` from any of the project's errors: `{ path, message }` with an optional `file` in front. */
const issuesOf = (error: unknown): ReadonlyArray<Issue.Issue> => {
  if (!Predicate.hasProperty(error, "issues") || !Array.isArray(error.issues)) return []
  return error.issues.flatMap((issue: unknown) => {
    if (!Predicate.hasProperty(issue, "path") || !Predicate.hasProperty(issue, "message")) return []
    const path = String(issue.path)
    const file = Predicate.hasProperty(issue, "file") && typeof issue.file === "string" ? issue.file : undefined
    return [{
      path: file === undefined ? path : path === "$" ? file : `${file}:${path}`,
      message: String(issue.message)
    }]
  })
}

const messageOf = (error: unknown): string =>
  Predicate.hasProperty(error, "message") && typeof error.message === "string"
    ? error.message
    : describeError(error)

/**
 * A refusal is an answer to a user, never a bug: its fields are built here from strings (no need to check them
 * again), and no stack trace is captured, which a server refusing thousands of payloads a second would pay for on
 * every one.
 */
const refused = (kind: RejectionKind, summary: string, issues: ReadonlyArray<Issue.Issue>): PayloadRefused => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return new PayloadRefused({ kind, summary, issues }, { disableValidation: true })
  } finally {
    Error.stackTraceLimit = limit
  }
}

/**
 * Classifies whatever a runtime's `render` (or packaging its output) failed with. It matches on `_tag` strings, not
 * with `Effect.catchTags` over runtime-core's classes: a runtime module may bring its own copy of runtime-core, whose
 * error classes are not ours.
 *
 * @since 0.1.0
 */
export const classify = (error: unknown): RenderFailure => {
  const tag = Predicate.hasProperty(error, "_tag") && typeof error._tag === "string" ? error._tag : undefined
  const kind = REJECTIONS.find((candidate) => candidate === tag)
  if (kind !== undefined) return refused(kind, messageOf(error), issuesOf(error))
  if (tag === "InvalidDataset2Gw") return new Dataset2GwRefused({ summary: messageOf(error), issues: issuesOf(error) })
  if (tag === "TemplateFailed" && Predicate.hasProperty(error, "reason")) {
    return new TemplateBroken({ reason: String(error.reason), issues: issuesOf(error) })
  }
  if (tag !== undefined) return new TemplateBroken({ reason: messageOf(error), issues: issuesOf(error) })
  return new TemplateBroken({ reason: `the runtime failed: ${describeError(error)}`, issues: [] })
}

/**
 * The HTTP status of a refused payload.
 *
 * @since 0.1.0
 */
export const httpStatus = (refused: PayloadRefused): 400 | 413 | 422 =>
  refused.kind === "PayloadTooLarge" ? 413 : refused.kind === "MalformedJson" ? 400 : 422
