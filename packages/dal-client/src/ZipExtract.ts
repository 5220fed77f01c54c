/**
 * Extracting a downloaded zip archive safely: every entry name is held to the same rules as listed keys, the
 * archive is inflated as a stream, and limits on entry count, total size and compression ratio are enforced on the
 * bytes actually inflated (headers are not trusted). Extraction goes to a temporary folder that replaces the target
 * only when complete; on any failure it is removed.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { createWriteStream } from "node:fs"
import * as NodePath from "node:path"
import { Transform } from "node:stream"
import { pipeline } from "node:stream/promises"
import type yauzl from "yauzl"
import { type DalError, DalIntegrityError, DalUnsafePath, type Subject } from "./DalError.js"
import * as DalKey from "./DalKey.js"
import * as Files from "./internal/files.js"
import { fileError, lstat, makeSafeDirs } from "./internal/safeFs.js"

/**
 * Limits against zip bombs.
 *
 * @since 0.1.0
 */
export interface Limits {
  readonly maxEntries: number
  /** Sum of inflated bytes over all entries. */
  readonly maxTotalBytes: number
  /** Inflated / compressed bytes, per entry and over the whole archive (checked past the first MiB). */
  readonly maxRatio: number
}

/**
 * @since 0.1.0
 */
export const defaultLimits: Limits = {
  maxEntries: 100_000,
  maxTotalBytes: 64 * 1024 ** 3,
  maxRatio: 200
}

// Tiny entries legitimately compress far beyond any sane ratio (a 1 KiB run of zeros); ratios only count past this.
const ratioFloor = 1024 * 1024

/**
 * @since 0.1.0
 */
export interface Options {
  readonly limits?: Partial<Limits> | undefined
  readonly datasetId?: string | undefined
  readonly key?: string | undefined
}

/**
 * @since 0.1.0
 */
export interface Extracted {
  readonly archive: string
  readonly into: string
  readonly entries: number
  readonly bytes: number
}

/**
 * The target folder an archive extracts to by default: its path without `.zip`.
 *
 * @since 0.1.0
 */
export const defaultTarget = (archive: string): string => archive.replace(/\.zip$/i, "")

const unsafeMessage = /^(invalid characters in fileName|absolute path|invalid relative path): (.*)$/s

const fromZipError = (subject: Subject, error: unknown): DalError => {
  const message = error instanceof Error ? error.message : String(error)
  const unsafe = unsafeMessage.exec(message)
  if (unsafe !== null) return new DalUnsafePath({ ...subject, entry: unsafe[2] ?? "", reason: unsafe[1] ?? "" })
  return /bytes in the stream/.test(message)
    ? new DalIntegrityError({ ...subject, reason: `an entry's size does not match its header (${message})` })
    : new DalIntegrityError({ ...subject, reason: `not a readable zip archive (${message})` })
}

/** yauzl's event API as effects; one listener each for the whole walk, so no error event goes unheard. */
const walker = (zip: yauzl.ZipFile) => {
  let failed: unknown
  let waiting: ((result: Effect.Effect<yauzl.Entry | undefined, unknown>) => void) | undefined
  const settle = (result: Effect.Effect<yauzl.Entry | undefined, unknown>) => {
    const resume = waiting
    waiting = undefined
    resume?.(result)
  }
  zip.on("error", (e: unknown) => {
    failed = e
    settle(Effect.fail(e))
  })
  zip.on("entry", (entry: yauzl.Entry) => settle(Effect.succeed(entry)))
  zip.on("end", () => settle(Effect.succeed(undefined)))
  return {
    next: Effect.async<yauzl.Entry | undefined, unknown>((resume) => {
      if (failed !== undefined) return resume(Effect.fail(failed))
      waiting = resume
      zip.readEntry()
    }),
    open: (entry: yauzl.Entry) =>
      Effect.async<NodeJS.ReadableStream, unknown>((resume) =>
        zip.openReadStream(entry, (error, stream) => resume(error ? Effect.fail(error) : Effect.succeed(stream)))
      )
  }
}

/**
 * Inflates one entry to `path`, checking the limits before each chunk is written, and answers the archive's running
 * total of inflated bytes.
 */
const inflateEntry = (
  subject: Subject,
  walk: ReturnType<typeof walker>,
  entry: yauzl.Entry,
  path: string,
  budget: { readonly limits: Limits; readonly archiveSize: number; readonly total: number }
): Effect.Effect<number, DalError> =>
  Effect.gen(function*() {
    const { archiveSize, limits } = budget
    const name = entry.fileName
    let total = budget.total
    const limit = (reason: string) => new DalIntegrityError({ ...subject, path: name, reason })
    let bytes = 0
    const readable = yield* walk.open(entry).pipe(Effect.mapError((e) => fromZipError(subject, e)))
    // Checked before each chunk is written: a bomb stops at the first chunk past a limit.
    const limiter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length
        total += chunk.length
        if (total > limits.maxTotalBytes) {
          return callback(limit(`inflates past the limit of ${limits.maxTotalBytes} bytes in total`))
        }
        if (bytes > ratioFloor && bytes > limits.maxRatio * Math.max(1, entry.compressedSize)) {
          return callback(limit(`inflates more than ${limits.maxRatio} times its compressed size`))
        }
        if (total > ratioFloor && total > limits.maxRatio * archiveSize) {
          return callback(limit(`the archive inflates more than ${limits.maxRatio} times its size`))
        }
        callback(null, chunk)
      }
    })
    const file = createWriteStream(path, { flags: "wx" })
    // pipeline passes the first error on to the other streams: whichever reports first is where it happened.
    let diskError: unknown
    let first: "archive" | "disk" | undefined
    readable.once("error", () => void (first ??= "archive"))
    file.once("error", (e) => {
      first ??= "disk"
      diskError = e
    })
    yield* Effect.tryPromise({
      try: (signal) => pipeline(readable, limiter, file, { signal }),
      catch: (cause): DalError => {
        if (cause instanceof DalIntegrityError) return cause
        if (first !== "disk") return fromZipError(subject, cause)
        // "wx": a second entry of the same name fails instead of overwriting the first.
        return (diskError as { readonly code?: unknown }).code === "EEXIST"
          ? new DalIntegrityError({ ...subject, path: name, reason: "the archive holds this entry twice" })
          : fileError(subject, path)(diskError)
      }
    })
    return total
  })

/**
 * Extracts `archive` into the folder `into` (default: the archive's path without `.zip`), replacing what was there.
 *
 * @since 0.1.0
 */
export const extract = (
  archive: string,
  into: string = defaultTarget(archive),
  options: Options = {}
): Effect.Effect<Extracted, DalError> =>
  Effect.gen(function*() {
    const limits: Limits = { ...defaultLimits, ...options.limits }
    const subject: Subject = { operation: "extract", datasetId: options.datasetId, key: options.key }
    const target = NodePath.resolve(into)
    const temp = target + DalKey.reserved.extractSuffix
    const archiveSize = Number((yield* Files.stat(archive).pipe(Effect.mapError(fileError(subject, archive)))).size)

    yield* Files.removeAll(temp).pipe(Effect.mapError(fileError(subject, temp)))
    const dirs = yield* makeSafeDirs(subject, temp)

    // Loaded on first use: most runs extract nothing, and the CLI starts sooner without it.
    const zipReader = yield* Effect.promise(() => import("yauzl"))
    const counted = yield* Effect.acquireRelease(
      Effect.async<yauzl.ZipFile, DalError>((resume) =>
        zipReader.open(
          archive,
          { lazyEntries: true, autoClose: false, decodeStrings: true, validateEntrySizes: true, strictFileNames: true },
          (error, zip) => resume(error ? Effect.fail(fromZipError(subject, error)) : Effect.succeed(zip))
        )
      ),
      (zip) => Effect.sync(() => zip.close())
    ).pipe(
      Effect.flatMap((zip) =>
        Effect.gen(function*() {
          if (zip.entryCount > limits.maxEntries) {
            return yield* new DalIntegrityError({
              ...subject,
              path: archive,
              reason: `the archive has ${zip.entryCount} entries, more than the limit of ${limits.maxEntries}`
            })
          }
          const walk = walker(zip)
          let entries = 0
          let total = 0
          while (true) {
            const entry = yield* walk.next.pipe(Effect.mapError((e) => fromZipError(subject, e)))
            if (entry === undefined) break
            entries++
            const name = entry.fileName
            const isDir = name.endsWith("/")
            const segments = DalKey.relativeSegments(isDir ? name.slice(0, -1) : name)
            if (Either.isLeft(segments)) {
              return yield* new DalUnsafePath({ ...subject, entry: name, reason: segments.left })
            }
            if (isDir) {
              yield* dirs.ensure(subject, segments.right)
              continue
            }
            const parent = yield* dirs.ensure(subject, segments.right.slice(0, -1))
            const path = NodePath.join(parent, segments.right[segments.right.length - 1] ?? "")
            total = yield* inflateEntry(subject, walk, entry, path, { limits, archiveSize, total })
          }
          return { entries, bytes: total }
        })
      ),
      Effect.scoped,
      Effect.tapError(() => Effect.ignore(Files.removeAll(temp)))
    )

    // Swap the finished folder in; whatever was at the target (an earlier extraction) goes.
    const old = `${target}.old${DalKey.reserved.extractSuffix}`
    const present = yield* lstat(subject, target)
    yield* Effect.gen(function*() {
      if (present !== undefined) {
        yield* Files.removeAll(old)
        yield* Files.rename(target, old)
      }
      yield* Files.rename(temp, target)
      yield* Files.removeAll(old)
    }).pipe(Effect.mapError(fileError(subject, target)))
    return { archive, into: target, ...counted }
  })
