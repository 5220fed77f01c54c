/**
 * Why a request body was refused. Three classes, one per answer a server gives: the body is too large (HTTP 413),
 * it is not JSON (400), or it is JSON but not a valid payload (422). Each carries the same `issues` list
 * (`{ path, message }[]`) and a one-line `message` that a Python shim can raise as a `ValueError` unchanged.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { Issue } from "./Issue.js"

const summary = (issues: ReadonlyArray<Issue>, max = 3): string => {
  const shown = issues.slice(0, max).map((issue) =>
    issue.path === "(root)" ? issue.message : `${issue.path}: ${issue.message}`
  )
  const more = issues.length > max ? `; and ${issues.length - max} more` : ""
  return shown.join("; ") + more
}

const mebibytes = (bytes: number): string => {
  const mib = bytes / (1024 * 1024)
  return mib >= 1 ? `${Number(mib.toFixed(2))} MiB` : `${Number((bytes / 1024).toFixed(1))} KiB`
}

/**
 * The body is larger than the runtime accepts (measured in UTF-8 bytes, before parsing).
 *
 * @since 0.1.0
 * @category errors
 */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  limitBytes: Schema.Number,
  actualBytes: Schema.Number,
  issues: Schema.Array(Issue)
}) {
  static fromSizes(limitBytes: number, actualBytes: number): PayloadTooLarge {
    return new PayloadTooLarge({
      limitBytes,
      actualBytes,
      issues: [{
        path: "(root)",
        message: `the body is ${actualBytes} bytes; the limit is ${limitBytes} bytes (${mebibytes(limitBytes)})`
      }]
    })
  }
  override get message(): string {
    return `Payload too large: ${this.actualBytes} bytes sent, at most ${this.limitBytes} bytes (${
      mebibytes(this.limitBytes)
    }) accepted. Send a smaller payload.`
  }
}

/**
 * The body is not JSON text. `line` and `column` (1-based, columns in UTF-16 units) point at the first error.
 *
 * @since 0.1.0
 * @category errors
 */
export class MalformedJson extends Schema.TaggedError<MalformedJson>()("MalformedJson", {
  line: Schema.Number,
  column: Schema.Number,
  issues: Schema.Array(Issue)
}) {
  override get message(): string {
    return `Malformed JSON: ${summary(this.issues, 1)}. Fix the JSON syntax and send it again.`
  }
}

/**
 * The body is JSON but not a payload this runtime accepts. `issues` lists every problem found.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidPayload extends Schema.TaggedError<InvalidPayload>()("InvalidPayload", {
  issues: Schema.Array(Issue)
}) {
  override get message(): string {
    const count = this.issues.length
    return `Invalid payload (${count} problem${count === 1 ? "" : "s"}): ${summary(this.issues)}.`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export type PayloadRejected = PayloadTooLarge | MalformedJson | InvalidPayload

/**
 * @since 0.1.0
 * @category schemas
 */
export const PayloadRejected: Schema.Union<[typeof PayloadTooLarge, typeof MalformedJson, typeof InvalidPayload]> =
  Schema.Union(PayloadTooLarge, MalformedJson, InvalidPayload)

/**
 * @since 0.1.0
 * @category guards
 */
export const isPayloadRejected = (u: unknown): u is PayloadRejected =>
  u instanceof PayloadTooLarge || u instanceof MalformedJson || u instanceof InvalidPayload

/**
 * The HTTP status a server answers with: 413, 400 or 422.
 *
 * @since 0.1.0
 */
export const httpStatus = (rejection: PayloadRejected): 400 | 413 | 422 =>
  Predicate.isTagged(rejection, "PayloadTooLarge") ? 413 : Predicate.isTagged(rejection, "MalformedJson") ? 400 : 422
