/**
 * Typed failures of the DAL client. Every error renders as one line that says which dataset and key it concerns and
 * what to do; none of them ever holds the bearer token.
 */
import * as Data from "effect/Data"

/** What the client was doing when it failed. */
export type Operation = "resolve" | "list" | "download" | "stream" | "policy" | "upload" | "extract"

/** The dataset (when known) and key an error concerns. */
export interface Subject {
  readonly operation: Operation
  readonly datasetId?: string | undefined
  readonly key?: string | undefined
}

// JSON quoting keeps hostile keys (newlines, quotes) on one line.
const q = (s: string): string => JSON.stringify(s)

const describe = (s: Subject): string => {
  const parts = [
    s.datasetId === undefined ? undefined : `dataset ${q(s.datasetId)}`,
    s.key === undefined ? undefined : `key ${q(s.key)}`
  ].filter((p) => p !== undefined)
  return parts.length === 0 ? s.operation : `${s.operation} of ${parts.join(", ")}`
}

/** One bad or missing setting. */
export interface ConfigProblem {
  readonly variable: string
  readonly reason: string
}

/** The settings (APH_* variables or values given in code) are missing or invalid. */
export class DalConfigError extends Data.TaggedError("DalConfigError")<{
  readonly problems: ReadonlyArray<ConfigProblem>
}> {
  override get message(): string {
    return `invalid DAL settings: ${this.problems.map((p) => `${p.variable}: ${p.reason}`).join("; ")}`
  }
}

/** A caller passed an argument the client cannot use (e.g. a derived-dataset name with a slash). */
export class DalInvalidArgument extends Data.TaggedError("DalInvalidArgument")<
  Subject & { readonly argument: string; readonly reason: string }
> {
  override get message(): string {
    return `${describe(this)}: invalid ${this.argument}: ${this.reason}`
  }
}

/** The DAL refused the token (401) or the token may not read this key (403). */
export class DalAuthError extends Data.TaggedError("DalAuthError")<Subject & { readonly status: number }> {
  override get message(): string {
    return this.status === 401
      ? `${describe(this)}: the DAL rejected the token (HTTP 401); check APH_DAL_TOKEN`
      : `${describe(this)}: the token may not access this key (HTTP ${this.status}); check the dataset's permissions`
  }
}

/** The dataset id is not in APH_DATA, or the DAL has no such key (404/410). */
export class DalNotFound extends Data.TaggedError("DalNotFound")<
  Subject & { readonly known?: ReadonlyArray<string> | undefined }
> {
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

/** The DAL answered with an unexpected status (after retries, when the status was transient). */
export class DalStatusError extends Data.TaggedError("DalStatusError")<
  Subject & { readonly status: number; readonly attempts: number; readonly detail?: string | undefined }
> {
  override get message(): string {
    const tries = this.attempts > 1 ? ` after ${this.attempts} attempts` : ""
    const detail = this.detail === undefined || this.detail === "" ? "" : `: ${q(this.detail)}`
    return `${describe(this)}: the DAL answered HTTP ${this.status}${tries}${detail}`
  }
}

/** The connection failed or timed out (after retries). */
export class DalTransportError extends Data.TaggedError("DalTransportError")<
  Subject & { readonly reason: string; readonly attempts: number; readonly advice?: string | undefined }
> {
  override get message(): string {
    const tries = this.attempts > 1 ? ` after ${this.attempts} attempts` : ""
    const advice = this.advice ?? "check APH_API_DAL_URL and the network, or raise APH_TIMEOUT"
    return `${describe(this)}: ${this.reason}${tries}; ${advice}`
  }
}

/** Data did not arrive as announced: size mismatch, malformed listing, or a zip archive over its limits. */
export class DalIntegrityError extends Data.TaggedError("DalIntegrityError")<
  Subject & { readonly reason: string; readonly path?: string | undefined }
> {
  override get message(): string {
    const at = this.path === undefined ? "" : ` at ${q(this.path)}`
    return `${describe(this)}: integrity check failed${at}: ${this.reason}`
  }
}

/** A listed key or zip entry would write outside the destination (or onto a name fedkit-dal reserves). */
export class DalUnsafePath extends Data.TaggedError("DalUnsafePath")<
  Subject & { readonly entry: string; readonly reason: string }
> {
  override get message(): string {
    return `${describe(this)}: refused ${q(this.entry)}: ${this.reason}; nothing was written outside the destination`
  }
}

/** A local file operation failed (disk full, permissions, a file where a folder should be, ...). */
export class DalFileError extends Data.TaggedError("DalFileError")<
  Subject & { readonly path: string; readonly reason: string }
> {
  override get message(): string {
    return `${describe(this)}: cannot write ${q(this.path)}: ${this.reason}`
  }
}

/** Every failure the client reports. */
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
