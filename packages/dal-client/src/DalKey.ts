/**
 * DAL keys (`s3://bucket/path`, directories end in `/`), how they go into URLs, and how a listed key becomes a safe
 * path below a destination folder.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as NodePath from "node:path"

const segmentsOf = (key: string): ReadonlyArray<string> => key.split("/")

// WHATWG URL parsing folds "." and ".." path segments (also when written %2e), so such a key could never be
// requested faithfully: it is refused up front rather than silently fetching a different object.
const keyProblem = (key: string): string | undefined => {
  if (key.length === 0) return "is empty"
  if (key.includes("\0")) return "contains a NUL byte"
  if (segmentsOf(key).some((s) => s === "." || s === "..")) return "contains a '.' or '..' segment"
  return undefined
}

/**
 * A DAL key such as `s3://bucket/folder/file.csv`; a key ending in `/` names a directory.
 *
 * @since 0.1.0
 */
export const DalKey = Schema.String.pipe(
  Schema.filter((key) => keyProblem(key) ?? true),
  Schema.brand("DalKey"),
  Schema.annotations({ identifier: "DalKey", description: "a DAL key such as s3://bucket/path (directories end in /)" })
)
/**
 * @since 0.1.0
 */
export type DalKey = typeof DalKey.Type

/**
 * Directories are keys with a trailing slash; the client, not the server, decides this (as the official client).
 *
 * @since 0.1.0
 */
export const isDirectory = (key: string): boolean => key.endsWith("/")

/**
 * Percent-encodes a key for a URL path, segment by segment: `/` separates segments and `:` stays literal (so
 * `s3://` reads as in the official client), everything else that is not unreserved is escaped as UTF-8.
 *
 * @since 0.1.0
 */
export const encode = (key: string): string =>
  segmentsOf(key).map((segment) => encodeURIComponent(segment).replaceAll("%3A", ":")).join("/")

/**
 * Files fedkit-dal writes beside downloaded data; a listing or archive may not use these names.
 *
 * @since 0.1.0
 */
export const reserved = {
  partialSuffix: ".fedkit-part",
  extractSuffix: ".fedkit-extract",
  manifest: ".fedkit-dal.jsonl"
} as const

const isReserved = (segment: string): boolean =>
  segment === reserved.manifest || segment.endsWith(reserved.partialSuffix) || segment.endsWith(reserved.extractSuffix)

/**
 * Checks a relative path (`/`-separated) and returns its segments. Refused: absolute paths, drive letters,
 * backslashes, NUL bytes, empty, `.` and `..` segments, and names fedkit-dal reserves. What passes is already in
 * normal form, so joining it below a folder can never leave that folder.
 *
 * @since 0.1.0
 */
export const relativeSegments = (relative: string): Either.Either<ReadonlyArray<string>, string> => {
  if (relative.length === 0) return Either.left("is empty")
  if (relative.startsWith("/")) return Either.left("is an absolute path")
  if (/^[A-Za-z]:/.test(relative)) return Either.left("starts with a drive letter")
  if (relative.includes("\\")) return Either.left("contains a backslash")
  if (relative.includes("\0")) return Either.left("contains a NUL byte")
  const segments = relative.split("/")
  if (segments.some((s) => s === "")) return Either.left("has an empty path segment")
  if (segments.some((s) => s === "..")) return Either.left("contains '..'")
  if (segments.some((s) => s === ".")) return Either.left("contains a '.' segment")
  if (segments.some(isReserved)) return Either.left("uses a file name reserved by fedkit-dal")
  return Either.right(segments)
}

/**
 * A listed key, relative to the directory key it was listed under.
 *
 * @since 0.1.0
 */
export interface Entry {
  readonly key: DalKey
  readonly segments: ReadonlyArray<string>
  readonly directory: boolean
}

/**
 * Places a listed key below the directory key it was listed under: it must start with that key, and the rest must
 * be a safe relative path (see {@link relativeSegments}).
 *
 * @since 0.1.0
 */
export const entryOf = (directoryKey: string, key: string): Either.Either<Entry, string> => {
  if (!key.startsWith(directoryKey) || key.length === directoryKey.length) {
    return Either.left(`is not below the requested directory ${JSON.stringify(directoryKey)}`)
  }
  const problem = keyProblem(key)
  if (problem !== undefined) return Either.left(problem)
  const rest = key.slice(directoryKey.length)
  const directory = isDirectory(rest)
  return Either.map(
    relativeSegments(directory ? rest.slice(0, -1) : rest),
    (segments) => ({ key: key as DalKey, segments, directory })
  )
}

/**
 * The file name a single-file dataset is saved under: the key's last segment, held to the same rules.
 *
 * @since 0.1.0
 */
export const fileName = (key: string): Either.Either<string, string> => {
  const name = key.slice(key.lastIndexOf("/") + 1)
  return Either.flatMap(relativeSegments(name), () => Either.right(name))
}

/**
 * Joins safe segments below a folder, and checks once more (cheaply, textually) that the result stays inside it.
 *
 * @since 0.1.0
 */
export const localPath = (root: string, segments: ReadonlyArray<string>): Either.Either<string, string> => {
  const base = NodePath.resolve(root)
  const path = NodePath.resolve(base, ...segments)
  return path.startsWith(base + NodePath.sep) ? Either.right(path) : Either.left("resolves outside the destination")
}
