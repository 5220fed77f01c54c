/**
 * Typed failures of the DAL client. Every error renders as one line that says which dataset and key it concerns and
 * what to do; none of them ever holds the bearer token.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * What the client was doing when it failed.
 *
 * @since 0.1.0
 */
export const Operation = Schema.Literal("resolve", "list", "download", "stream", "policy", "upload", "extract")
/**
 * @since 0.1.0
 */
export type Operation = typeof Operation.Type

const subjectFields = {
  operation: Operation,
  datasetId: Schema.optional(Schema.String),
  key: Schema.optional(Schema.String)
}

/**
 * The dataset (when known) and key an error concerns.
 *
 * @since 0.1.0
 */
export const Subject = Schema.Struct(subjectFields)
/**
 * @since 0.1.0
 */
export type Subject = typeof Subject.Type

// JSON quoting keeps hostile keys (newlines, quotes) on one line.
const q = (s: string): string => JSON.stringify(s)

const describe = (s: Subject): string => {
  const parts = [
    s.datasetId === undefined ? undefined : `dataset ${q(s.datasetId)}`,
    s.key === undefined ? undefined : `key ${q(s.key)}`
  ].filter((p) => p !== undefined)
  return parts.length === 0 ? s.operation : `${s.operation} of ${parts.join(", ")}`
}

/**
 * One bad or missing setting.
 *
 * @since 0.1.0
 */
export const ConfigProblem = Schema.Struct({ variable: Schema.String, reason: Schema.String })
/**
 * @since 0.1.0
 */
export type ConfigProblem = typeof ConfigProblem.Type

/**
 * The settings (APH_* variables or values given in code) are missing or invalid.
 *
 * @since 0.1.0
 */
export class DalConfigError extends Schema.TaggedError<DalConfigError>()("DalConfigError", {
  problems: Schema.Array(ConfigProblem)
}) {
  override get message(): string {
    return `invalid DAL settings: ${this.problems.map((p) => `${p.variable}: ${p.reason}`).join("; ")}`
  }
}

/**
 * A caller passed an argument the client cannot use (e.g. a derived-dataset name with a slash).
 *
 * @since 0.1.0
 */
export class DalInvalidArgument extends Schema.TaggedError<DalInvalidArgument>()("DalInvalidArgument", {
  ...subjectFields,
  argument: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${describe(this)}: invalid ${this.argument}: ${this.reason}`
  }
}

/**
 * The DAL refused the token (401) or the token may not read this key (403).
 *
 * @since 0.1.0
 */
export class DalAuthError
  extends Schema.TaggedError<DalAuthError>()("DalAuthError", { ...subjectFields, status: Schema.Number })
{
  override get message(): string {
    return this.status === 401
      ? `${describe(this)}: the DAL rejected the token (HTTP 401); check APH_DAL_TOKEN`
      : `${describe(this)}: the token may not access this key (HTTP ${this.status}); check the dataset's permissions`
  }
}

/**
 * The dataset id is not in APH_DATA, or the DAL has no such key (404/410).
 *
 * @since 0.1.0
 */
export class DalNotFound extends Schema.TaggedError<DalNotFound>()("DalNotFound", {
  ...subjectFields,
  known: Schema.optional(Schema.Array(Schema.String))
}) {
  override get message(): string {
    if (this.known !== undefined) {
      const known = this.known.length === 0 ? "APH_DATA is empty or unset" : `known: ${this.known.map(q).join(", ")}`
      return `${describe(this)}: not in APH_DATA (${known})`
    }
    return this.operation === "policy"
      ? `${describe(this)}: the DAL has no asset policy for this key (HTTP 404)`
      : `${describe(this)}: the DAL has no such key (HTTP 404)`
  }
}

/**
 * The DAL answered with an unexpected status (after retries, when the status was transient).
 *
 * @since 0.1.0
 */
export class DalStatusError extends Schema.TaggedError<DalStatusError>()("DalStatusError", {
  ...subjectFields,
  status: Schema.Number,
  attempts: Schema.Number,
  detail: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const tries = this.attempts > 1 ? ` after ${this.attempts} attempts` : ""
    const detail = this.detail === undefined || this.detail === "" ? "" : `: ${q(this.detail)}`
    return `${describe(this)}: the DAL answered HTTP ${this.status}${tries}${detail}`
  }
}

/**
 * The connection failed or timed out (after retries).
 *
 * @since 0.1.0
 */
export class DalTransportError extends Schema.TaggedError<DalTransportError>()("DalTransportError", {
  ...subjectFields,
  reason: Schema.String,
  attempts: Schema.Number,
  advice: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const tries = this.attempts > 1 ? ` after ${this.attempts} attempts` : ""
    const advice = this.advice ?? "check APH_API_DAL_URL and the network, or raise APH_TIMEOUT"
    return `${describe(this)}: ${this.reason}${tries}; ${advice}`
  }
}

/**
 * Data did not arrive as announced: size mismatch, malformed listing, or a zip archive over its limits.
 *
 * @since 0.1.0
 */
export class DalIntegrityError extends Schema.TaggedError<DalIntegrityError>()("DalIntegrityError", {
  ...subjectFields,
  reason: Schema.String,
  path: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const at = this.path === undefined ? "" : ` at ${q(this.path)}`
    return `${describe(this)}: integrity check failed${at}: ${this.reason}`
  }
}

/**
 * A listed key or zip entry would write outside the destination (or onto a name fedkit-dal reserves).
 *
 * @since 0.1.0
 */
export class DalUnsafePath extends Schema.TaggedError<DalUnsafePath>()("DalUnsafePath", {
  ...subjectFields,
  entry: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${describe(this)}: refused ${q(this.entry)}: ${this.reason}; nothing was written outside the destination`
  }
}

/**
 * A local file operation failed (disk full, permissions, a file where a folder should be, ...).
 *
 * @since 0.1.0
 */
export class DalFileError extends Schema.TaggedError<DalFileError>()("DalFileError", {
  ...subjectFields,
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${describe(this)}: cannot write ${q(this.path)}: ${this.reason}`
  }
}

/**
 * Every failure the client reports.
 *
 * @since 0.1.0
 */
export type DalError =
  | DalConfigError
  | DalInvalidArgument
  | DalAuthError
  | DalNotFound
  | DalStatusError
  | DalTransportError
  | DalIntegrityError
  | DalUnsafePath
  | DalFileError
