import * as Data from "effect/Data"

/**
 * The server could not start: bad options, an unreadable token/policy/fault file, or the port could not be bound.
 * Request-level problems never surface here; they become HTTP error responses.
 */
export class DalServerError extends Data.TaggedError("DalServerError")<{
  readonly reason: "InvalidOptions" | "InvalidFile" | "Listen"
  /** What was wrong and what to do, one line. */
  readonly detail: string
  /** The file or folder concerned, when there is one. */
  readonly path?: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return this.path === undefined ? this.detail : `${this.path}: ${this.detail}`
  }
}
