/**
 * The file-system operations this package needs, over `node:fs/promises`. Node directly, rather than
 * `@effect/platform`'s FileSystem service, keeps that package (and its native optional dependencies) out of every
 * consumer's install; callers turn a {@link FileError} into their own typed error. The operations are a
 * `Context.Reference` whose default is Node's: nothing to provide, and a test can swap one in to inject faults.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"

/** A file-system call failed: which one, on what, and Node's own explanation (`ENOENT: no such file…`). */
export class FileError extends Schema.TaggedError<FileError>()("FileError", {
  operation: Schema.String,
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.operation} ${this.path}: ${this.reason}`
  }
}

const attempt = <A>(operation: string, path: string, run: () => Promise<A>): Effect.Effect<A, FileError> =>
  Effect.tryPromise({
    try: run,
    catch: (cause) => new FileError({ operation, path, reason: cause instanceof Error ? cause.message : String(cause) })
  })

/** What a path is, with the names `@effect/platform` gave them (the messages of this package quote them). */
export type FileType = "File" | "Directory" | "SymbolicLink" | "BlockDevice" | "CharacterDevice" | "FIFO" | "Socket"

export interface Info {
  readonly type: FileType
  readonly size: number
}

export const stat = (path: string): Effect.Effect<Info, FileError> =>
  attempt("stat", path, async () => {
    const info = await Fs.stat(path)
    const type: FileType = info.isFile()
      ? "File"
      : info.isDirectory()
      ? "Directory"
      : info.isSymbolicLink()
      ? "SymbolicLink"
      : info.isBlockDevice()
      ? "BlockDevice"
      : info.isCharacterDevice()
      ? "CharacterDevice"
      : info.isFIFO()
      ? "FIFO"
      : "Socket"
    return { type, size: info.size }
  })

/** Whether a path exists (a broken symbolic link does not). */
export const exists = (path: string): Effect.Effect<boolean, FileError> =>
  stat(path).pipe(
    Effect.as(true),
    Effect.catchIf((error) => error.reason.startsWith("ENOENT"), () => Effect.succeed(false))
  )

export const readLink = (path: string): Effect.Effect<string, FileError> =>
  attempt("readlink", path, () => Fs.readlink(path))

export const readFile = (path: string): Effect.Effect<Uint8Array, FileError> =>
  attempt("read", path, async () => new Uint8Array(await Fs.readFile(path)))

export const readFileString = (path: string): Effect.Effect<string, FileError> =>
  attempt("read", path, () => Fs.readFile(path, "utf8"))

/** Up to `length` bytes from `offset` (fewer at the end of the file). */
export const readRange = (path: string, offset: number, length: number): Effect.Effect<Uint8Array, FileError> =>
  attempt("read", path, async () => {
    const handle = await Fs.open(path, "r")
    try {
      const buffer = new Uint8Array(length)
      const { bytesRead } = await handle.read(buffer, 0, length, offset)
      return buffer.subarray(0, bytesRead)
    } finally {
      await handle.close()
    }
  })

/** The names in a folder; with `recursive`, every path under it, relative to it. */
export const readDirectory = (
  path: string,
  options: { readonly recursive?: boolean } = {}
): Effect.Effect<Array<string>, FileError> =>
  attempt("readdir", path, () => Fs.readdir(path, { recursive: options.recursive ?? false }))

/**
 * The operations that put outputs in place: a `Context.Reference` defaulting to Node's, which a test replaces to fail
 * or stall one of them part-way and check that nothing is left behind.
 */
export interface Writes {
  readonly writeFile: (path: string, data: Uint8Array | string, mode?: number) => Effect.Effect<void, FileError>
  readonly rename: (from: string, to: string) => Effect.Effect<void, FileError>
}

/** Node's {@link Writes}. */
export const nodeWrites: Writes = {
  writeFile: (path, data, mode) =>
    attempt("write", path, () => Fs.writeFile(path, data, mode === undefined ? {} : { mode })),
  rename: (from, to) => attempt("rename", from, () => Fs.rename(from, to))
}

export class WritesRef extends Context.Reference<WritesRef>()("@fedkit/job-packager/internal/Writes", {
  defaultValue: () => nodeWrites
}) {}

export const writeFile = (
  path: string,
  data: Uint8Array | string,
  options: { readonly mode?: number } = {}
): Effect.Effect<void, FileError> => Effect.flatMap(WritesRef, (writes) => writes.writeFile(path, data, options.mode))

export const writeFileString: (
  path: string,
  text: string,
  options?: { readonly mode?: number }
) => Effect.Effect<void, FileError> = writeFile

export const rename = (from: string, to: string): Effect.Effect<void, FileError> =>
  Effect.flatMap(WritesRef, (writes) => writes.rename(from, to))

export const makeDirectory = (
  path: string,
  options: { readonly recursive?: boolean; readonly mode?: number } = {}
): Effect.Effect<void, FileError> => Effect.asVoid(attempt("mkdir", path, () => Fs.mkdir(path, options)))

export const copyFile = (from: string, to: string): Effect.Effect<void, FileError> =>
  attempt("copy", from, () => Fs.copyFile(from, to))

/** Removes a file, or with `recursive` a whole folder. */
export const remove = (path: string, options: { readonly recursive?: boolean } = {}): Effect.Effect<void, FileError> =>
  attempt("remove", path, () => Fs.rm(path, { recursive: options.recursive ?? false }))

export interface TempOptions {
  /** The parent folder; default the system's temporary folder. */
  readonly directory?: string
  readonly prefix?: string
}

/** A new, empty, private folder. */
export const makeTempDirectory = (options: TempOptions = {}): Effect.Effect<string, FileError> => {
  const directory = options.directory ?? Os.tmpdir()
  return attempt("mkdtemp", directory, () => Fs.mkdtemp(Path.join(directory, options.prefix ?? "")))
}

/** {@link makeTempDirectory}, removed with everything in it when the scope closes. */
export const makeTempDirectoryScoped = (options: TempOptions = {}): Effect.Effect<string, FileError, Scope.Scope> =>
  Effect.acquireRelease(makeTempDirectory(options), (dir) => Effect.ignore(remove(dir, { recursive: true })))
