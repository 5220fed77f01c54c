import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Dirent, Stats } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { type Key, uploadTempPrefix } from "./keys.js"

export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { reason: Schema.String }) {}

export class DiskError
  extends Schema.TaggedError<DiskError>()("DiskError", { path: Schema.String, cause: Schema.Unknown })
{
  /** The errno code (`ENOENT`, `ENOSPC`, …) when the operating system gave one. */
  get code(): string | undefined {
    const code = (this.cause as { code?: unknown } | undefined)?.code
    return typeof code === "string" ? code : undefined
  }
}

/** A file-system call on `p` whose failure is a DiskError, so callers can map the errno codes they expect. */
export const tryFs = <A>(p: string, call: () => Promise<A>): Effect.Effect<A, DiskError> =>
  Effect.tryPromise({ try: call, catch: (cause) => new DiskError({ path: p, cause }) })

const isMissing = (cause: unknown): boolean => {
  const code = (cause as { code?: unknown } | undefined)?.code
  return code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP" || code === "ENAMETOOLONG"
}

/** `realpath` that maps "does not exist" to NotFound and every other failure to DiskError. */
const realpath = (p: string, what: string): Effect.Effect<string, NotFound | DiskError> =>
  Effect.tryPromise({
    try: () => fs.realpath(p),
    catch: (cause): NotFound | DiskError =>
      isMissing(cause) ? new NotFound({ reason: `${what} not found` }) : new DiskError({ path: p, cause })
  })

const stat = (p: string): Effect.Effect<Stats, DiskError> => tryFs(p, () => fs.stat(p))

/** True when `real` is `rootReal` or lies below it (both already resolved by realpath). */
export const isInside = (rootReal: string, real: string): boolean => {
  const rel = path.relative(rootReal, real)
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel))
}

/**
 * Resolves `relative` segments below `rootReal`, following symlinks, and refuses (as NotFound, so nothing about
 * the outside is revealed) anything whose real location is outside the root.
 */
export const resolveInside = (
  rootReal: string,
  segments: ReadonlyArray<string>,
  what: string
): Effect.Effect<Entry, NotFound | DiskError> =>
  Effect.gen(function*() {
    const real = yield* realpath(path.join(rootReal, ...segments), what)
    if (!isInside(rootReal, real)) return yield* new NotFound({ reason: `${what} not found` })
    return { real, stats: yield* stat(real) }
  })

export interface Entry {
  readonly real: string
  readonly stats: Stats
}

/** Resolves a key to an existing file or folder inside the root. */
export const resolveKey = (rootReal: string, key: Key): Effect.Effect<Entry, NotFound | DiskError> =>
  Effect.gen(function*() {
    const entry = yield* resolveInside(rootReal, [key.bucket, ...key.segments], key.key)
    if (key.isFolder && !entry.stats.isDirectory()) {
      return yield* new NotFound({ reason: `${key.key} is a file, not a folder (drop the trailing "/")` })
    }
    if (!key.isFolder && !entry.stats.isFile()) {
      return yield* new NotFound({
        reason: entry.stats.isDirectory()
          ? `${key.key} is a folder; list it with a trailing "/"`
          : `${key.key} is not a regular file`
      })
    }
    return entry
  })

/** Strong validator from size and modification time: changes whenever the content is replaced or rewritten. */
export const etagOf = (stats: Stats): string => `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`

/**
 * Every entry below a folder, recursively, as full keys (folders end in "/"), sorted by key.
 * Symlinks are followed only when they stay inside the root; a symlink back to an ancestor folder is listed but
 * not descended into, so cycles end. `visible(key, real, isFolder)` decides on each entry from where it really is;
 * a folder that is not visible is not descended into either.
 */
export const listFolder = (
  rootReal: string,
  folderKey: string,
  folderReal: string,
  visible: (key: string, real: string, isFolder: boolean) => boolean
) =>
  Effect.gen(function*() {
    const keys: Array<string> = []
    const walk = (
      dirReal: string,
      prefix: string,
      ancestors: ReadonlySet<string>
    ): Effect.Effect<void, DiskError> =>
      Effect.gen(function*() {
        const dirents = yield* tryFs(dirReal, () => fs.readdir(dirReal, { withFileTypes: true }))
        for (const dirent of dirents) {
          if (dirent.name.startsWith(uploadTempPrefix)) continue
          const kind = yield* entryKind(rootReal, dirReal, dirent)
          if (kind === undefined) continue
          if (kind.type === "file") {
            if (visible(prefix + dirent.name, kind.real, false)) keys.push(prefix + dirent.name)
          } else {
            const childPrefix = `${prefix}${dirent.name}/`
            if (!visible(childPrefix, kind.real, true)) continue
            keys.push(childPrefix)
            if (!ancestors.has(kind.real)) {
              yield* walk(kind.real, childPrefix, new Set([...ancestors, kind.real]))
            }
          }
        }
      })
    yield* walk(folderReal, folderKey, new Set([folderReal]))
    return keys.sort(compareKeys)
  })

/** Code-unit order: deterministic, and the same order cursors compare in. */
export const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

const entryKind = (
  rootReal: string,
  dirReal: string,
  dirent: Dirent
): Effect.Effect<{ readonly type: "file" | "folder"; readonly real: string } | undefined, DiskError> =>
  Effect.gen(function*() {
    const full = path.join(dirReal, dirent.name)
    if (dirent.isFile()) return { type: "file" as const, real: full }
    if (dirent.isDirectory()) return { type: "folder" as const, real: full }
    if (!dirent.isSymbolicLink()) return undefined
    const target = yield* resolveInside(rootReal, [path.relative(rootReal, full)], full).pipe(
      Effect.map((entry): Entry | undefined => entry),
      Effect.catchTag("NotFound", () => Effect.succeed(undefined))
    )
    if (target === undefined) return undefined
    if (target.stats.isFile()) return { type: "file" as const, real: target.real }
    if (target.stats.isDirectory()) return { type: "folder" as const, real: target.real }
    return undefined
  })

/** The result of interpreting a `Range` header against a representation of `size` bytes. */
export type RangeRequest =
  | { readonly _tag: "Full" }
  | { readonly _tag: "Partial"; readonly start: number; readonly end: number }
  | { readonly _tag: "Unsatisfiable" }

/**
 * Single byte ranges only (`bytes=a-b`, `bytes=a-`, `bytes=-n`). Multiple ranges and malformed headers are ignored
 * (full 200 response), which RFC 9110 permits; a well-formed range starting past the end is unsatisfiable.
 */
export const parseRange = (header: string | undefined, size: number): RangeRequest => {
  if (header === undefined) return { _tag: "Full" }
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  if (match === null) return { _tag: "Full" }
  const [, first = "", last = ""] = match
  if (first === "" && last === "") return { _tag: "Full" }
  if (first === "") {
    const suffix = Number(last)
    if (suffix === 0 || size === 0) return { _tag: "Unsatisfiable" }
    return { _tag: "Partial", start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(first)
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1)
  if (last !== "" && Number(last) < start) return { _tag: "Full" }
  if (start >= size) return { _tag: "Unsatisfiable" }
  return { _tag: "Partial", start, end }
}
