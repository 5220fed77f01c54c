import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

/**
 * A request the server can route: which endpoint, the decoded path after it, and the query string.
 * Built from the RAW request target so that `s3://` keeps its double slash and `..` is seen before any
 * normalisation could resolve it.
 */
export interface RequestTarget {
  readonly endpoint: "datasets" | "policies" | "dataset" | "other"
  /** The path below the endpoint, percent-decoded per segment (`/` separators kept as they were sent). */
  readonly rest: string
  readonly query: URLSearchParams
  /** Raw path as received, without query, for logs. */
  readonly rawPath: string
}

export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", { reason: Schema.String }) {}

const decodeSegment = (segment: string): Either.Either<string, BadRequest> =>
  Either.try({
    try: () => decodeURIComponent(segment),
    catch: () => new BadRequest({ reason: `invalid percent-encoding in path segment "${segment}"` })
  })

/** Splits the raw request target (origin-form or absolute-form) into endpoint, decoded rest and query. */
export const parseTarget = (rawUrl: string): Either.Either<RequestTarget, BadRequest> => {
  // absolute-form (`GET http://host/path`) is legal HTTP/1.1; only the path matters here
  const withoutOrigin = rawUrl.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?]*/, "")
  const queryAt = withoutOrigin.indexOf("?")
  const rawPath = queryAt === -1 ? withoutOrigin : withoutOrigin.slice(0, queryAt)
  const query = new URLSearchParams(queryAt === -1 ? "" : withoutOrigin.slice(queryAt + 1))
  const match = /^\/(datasets|policies|dataset)\/(.*)$/s.exec(rawPath)
  if (match === null) {
    return Either.right({ endpoint: "other", rest: rawPath, query, rawPath })
  }
  const endpoint = match[1] as "datasets" | "policies" | "dataset"
  const segments: Array<string> = []
  for (const segment of (match[2] ?? "").split("/")) {
    const decoded = decodeSegment(segment)
    if (Either.isLeft(decoded)) return Either.left(decoded.left)
    segments.push(decoded.right)
  }
  return Either.right({ endpoint, rest: segments.join("/"), query, rawPath })
}

/** A validated `s3://bucket/path` key. `segments` excludes the bucket; a folder key has `isFolder` and no trailing "". */
export interface Key {
  readonly key: string
  readonly bucket: string
  readonly segments: ReadonlyArray<string>
  readonly isFolder: boolean
}

/** Prefix of the temporary files written by derived-data uploads; such names are never listed, served or accepted. */
export const uploadTempPrefix = ".fedkit-upload-"

/** The longest file or folder name common file systems store (NAME_MAX on Linux), in bytes of UTF-8. */
export const maxNameBytes = 255

/** The longest path the operating system opens (PATH_MAX on Linux), in bytes of UTF-8. */
export const maxPathBytes = 4096

/** Why a single path segment is unsafe, or undefined when it is a plain file or folder name. */
export const unsafeSegment = (segment: string): string | undefined => {
  if (segment === "") return "empty path segment (\"//\")"
  if (segment === "." || segment === "..") return `"${segment}" path segment`
  if (segment.includes("\\")) return "backslash in path"
  if (segment.includes("\0")) return "NUL byte in path"
  if (segment.includes("/")) return "encoded \"/\" inside a path segment"
  if (segment.startsWith(uploadTempPrefix)) return `reserved name prefix "${uploadTempPrefix}"`
  const bytes = Buffer.byteLength(segment, "utf8")
  if (bytes > maxNameBytes) {
    return `the name "${
      segment.slice(0, 24)
    }…" is ${bytes} bytes; file and folder names are limited to ${maxNameBytes} bytes`
  }
  return undefined
}

/** Parses `s3://bucket/a/b` (file) or `s3://bucket/a/` (folder); refuses anything that could leave the bucket. */
export const parseKey = (key: string): Either.Either<Key, BadRequest> => {
  if (!key.startsWith("s3://")) {
    return Either.left(new BadRequest({ reason: `key "${key}" must start with "s3://" (s3://bucket/path)` }))
  }
  const parts = key.slice("s3://".length).split("/")
  const isFolder = parts.length > 1 && parts[parts.length - 1] === ""
  const [bucket = "", ...segments] = isFolder ? parts.slice(0, -1) : parts
  for (const segment of [bucket, ...segments]) {
    const problem = unsafeSegment(segment)
    if (problem !== undefined) return Either.left(new BadRequest({ reason: `key "${key}": ${problem}` }))
  }
  return Either.right({ key, bucket, segments, isFolder })
}

/** Encodes a key for a URL path: each segment percent-encoded, `/` and `:` kept (what clients send). */
export const encodeKey = (key: string): string =>
  key.split("/").map((segment) => encodeURIComponent(segment).replace(/%3A/g, ":")).join("/")

/** The folder keys enclosing a key, nearest first: `s3://b/x/y/f` → `s3://b/x/y/`, `s3://b/x/`, `s3://b/`. */
export const enclosingFolders = (key: Key): ReadonlyArray<string> => {
  const base = `s3://${key.bucket}/`
  const folders: Array<string> = []
  for (let n = key.isFolder ? key.segments.length - 1 : key.segments.length; n >= 0; n--) {
    folders.push(base + key.segments.slice(0, n).map((s) => `${s}/`).join(""))
  }
  return folders
}
