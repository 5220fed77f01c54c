/**
 * The few file-system operations the client needs beyond safeFs.ts, over `node:fs/promises`. Failures carry Node's
 * error for the caller to name (`safeFs.fileError`). Node directly, rather than `@effect/platform`'s FileSystem, keeps
 * that package (and its native optional dependencies) out of every consumer's install.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Stats } from "node:fs"
import * as Fs from "node:fs/promises"

const attempt = <A>(run: () => Promise<A>): Effect.Effect<A, unknown> =>
  Effect.tryPromise({ try: run, catch: (cause) => cause })

export const stat = (path: string): Effect.Effect<Stats, unknown> => attempt(() => Fs.stat(path))

export const makeDirectories = (path: string): Effect.Effect<void, unknown> =>
  Effect.asVoid(attempt(() => Fs.mkdir(path, { recursive: true })))

export const rename = (from: string, to: string): Effect.Effect<void, unknown> => attempt(() => Fs.rename(from, to))

/** Removes a file or a whole folder; a missing path is fine. */
export const removeAll = (path: string): Effect.Effect<void, unknown> =>
  attempt(() => Fs.rm(path, { recursive: true, force: true }))

export const readText = (path: string): Effect.Effect<string, unknown> => attempt(() => Fs.readFile(path, "utf8"))

export const writeText = (path: string, text: string): Effect.Effect<void, unknown> =>
  attempt(() => Fs.writeFile(path, text))

/** A file opened for appending whole texts, closed when the scope closes. */
export interface Appender {
  readonly append: (text: string) => Effect.Effect<void, unknown>
}

export const openAppender = (path: string): Effect.Effect<Appender, unknown, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      attempt(() => Fs.open(path, "a")),
      (handle) => Effect.promise(() => handle.close().catch(() => undefined))
    ),
    (handle) => ({ append: (text) => attempt(() => handle.appendFile(text, "utf8")) })
  )
