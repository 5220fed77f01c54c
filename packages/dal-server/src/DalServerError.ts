/**
 * Why the local DAL could not start.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The server could not start: bad options, an unreadable token/policy/fault file, or the port could not be bound.
 * Request-level problems never surface here; they become HTTP error responses.
 *
 * @since 0.1.0
 */
export class DalServerError extends Schema.TaggedError<DalServerError>()("DalServerError", {
  reason: Schema.Literal("InvalidOptions", "InvalidFile", "Listen"),
  /** What was wrong and what to do, one line. */
  detail: Schema.String,
  /** The file or folder concerned, when there is one. */
  path: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Unknown)
}) {
  override get message(): string {
    return this.path === undefined ? this.detail : `${this.path}: ${this.detail}`
  }
}
