/**
 * Creating folders and claiming file names below a destination without following symlinks out of it. Paths here
 * were already checked textually (DalKey.relativeSegments); this guards against what is on disk.
 */
import * as Effect from "effect/Effect"
import type { Stats } from "node:fs"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import { DalFileError, DalUnsafePath, type Subject } from "../DalError.js"

const errnoOf = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && typeof (cause as { code?: unknown }).code === "string"
    ? (cause as { code: string }).code
    : undefined

export const reasonOf = (cause: unknown): string => {
  const code = errnoOf(cause)
  const message = cause instanceof Error ? cause.message : String(cause)
  return code === undefined ? message : `${code}: ${message}`
}

/** `lstat` that answers `undefined` for a missing path. */
export const lstat = (
  subject: Subject,
  path: string
): Effect.Effect<Stats | undefined, DalFileError> =>
  Effect.tryPromise({
    try: () => Fs.lstat(path).catch((e: unknown) => errnoOf(e) === "ENOENT" ? undefined : Promise.reject(e)),
    catch: (cause) => new DalFileError({ ...subject, path, reason: reasonOf(cause) })
  })

export const fileError = (subject: Subject, path: string) => (cause: unknown): DalFileError =>
  new DalFileError({ ...subject, path, reason: reasonOf(cause) })

/**
 * Folders below one root. The root itself is the caller's choice and may be reached through symlinks; below it,
 * every component must be a real directory (created here if missing), never a symlink.
 */
export interface SafeDirs {
  readonly root: string
  /** Ensures `root/segments...` exists as directories and answers its absolute path. */
  readonly ensure: (
    subject: Subject,
    segments: ReadonlyArray<string>
  ) => Effect.Effect<string, DalFileError | DalUnsafePath>
}

export const makeSafeDirs = (subject: Subject, root: string): Effect.Effect<SafeDirs, DalFileError> => {
  const base = NodePath.resolve(root)
  return Effect.tryPromise({
    try: () => Fs.mkdir(base, { recursive: true }),
    catch: fileError(subject, base)
  }).pipe(Effect.as(make(base)))
}

const make = (base: string): SafeDirs => {
  const known = new Set<string>([base])
  const one = (subject: Subject, path: string, entry: string): Effect.Effect<void, DalFileError | DalUnsafePath> =>
    Effect.suspend(() => {
      if (known.has(path)) return Effect.void
      const check = (created: boolean): Effect.Effect<void, DalFileError | DalUnsafePath> =>
        Effect.flatMap(lstat(subject, path), (stats) => {
          if (stats === undefined) {
            return created
              ? Effect.fail(new DalFileError({ ...subject, path, reason: "folder vanished while being created" }))
              : Effect.tryPromise({
                try: () =>
                  Fs.mkdir(path).catch((e: unknown) => errnoOf(e) === "EEXIST" ? undefined : Promise.reject(e)),
                catch: fileError(subject, path)
              }).pipe(Effect.zipRight(check(true)))
          }
          if (stats.isSymbolicLink()) {
            return Effect.fail(
              new DalUnsafePath({
                ...subject,
                entry,
                reason: `${JSON.stringify(path)} is a symlink in the destination`
              })
            )
          }
          if (!stats.isDirectory()) {
            return Effect.fail(new DalFileError({ ...subject, path, reason: "exists and is not a folder" }))
          }
          known.add(path)
          return Effect.void
        })
      return check(false)
    })
  return {
    root: base,
    ensure: (subject, segments) =>
      Effect.gen(function*() {
        let path = base
        for (const segment of segments) {
          path = NodePath.join(path, segment)
          yield* one(subject, path, segments.join("/"))
        }
        return path
      })
  }
}

/**
 * Makes `path` safe to open for writing: a symlink or other non-file there is removed (the link, never its
 * target), so opening it cannot write anywhere else. Answers the size of a regular file found there.
 */
export const claimFile = (subject: Subject, path: string): Effect.Effect<number | undefined, DalFileError> =>
  Effect.flatMap(lstat(subject, path), (stats) => {
    if (stats === undefined) return Effect.succeed(undefined)
    if (stats.isFile()) return Effect.succeed(stats.size)
    if (stats.isDirectory()) {
      return Effect.fail(new DalFileError({ ...subject, path, reason: "a folder is in the way" }))
    }
    return Effect.tryPromise({ try: () => Fs.unlink(path), catch: fileError(subject, path) }).pipe(
      Effect.as(undefined)
    )
  })
