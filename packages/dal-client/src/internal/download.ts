/**
 * Downloading one file to a path, and a whole dataset into a folder: every listed entry is checked before the first
 * byte is written (names, file/folder clashes, extraction targets), then files move with bounded concurrency through
 * transfer.ts, and downloaded archives are extracted on request.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import type { DatasetResult, DownloadOptions } from "../DalClient.js"
import { type DalError, DalUnsafePath, type Subject } from "../DalError.js"
import * as DalKey from "../DalKey.js"
import type { OnProgress } from "../Progress.js"
import * as ZipExtract from "../ZipExtract.js"
import type { Exchange } from "./exchange.js"
import * as Files from "./files.js"
import * as Listing from "./listing.js"
import * as Manifest from "./manifest.js"
import { fileError, lstat, makeSafeDirs } from "./safeFs.js"
import * as Tracker from "./tracker.js"
import * as Transfer from "./transfer.js"

/** Refuses listings where one path is both a file and a folder, or an extraction folder lands on a listed path. */
const conflicts = (
  subject: Subject,
  entries: ReadonlyArray<DalKey.Entry>,
  extract: boolean
): Either.Either<void, DalUnsafePath> => {
  const files = new Map(entries.filter((e) => !e.directory).map((e) => [e.segments.join("/"), e]))
  const taken = new Set(entries.map((e) => e.segments.join("/")))
  for (const entry of entries) {
    for (let i = 1; i < entry.segments.length; i++) {
      const ancestor = files.get(entry.segments.slice(0, i).join("/"))
      if (ancestor !== undefined) {
        return Either.left(
          new DalUnsafePath({ ...subject, entry: ancestor.key, reason: "is listed both as a file and as a folder" })
        )
      }
    }
  }
  if (extract) {
    for (const [path, entry] of files) {
      const target = ZipExtract.defaultTarget(path)
      if (target !== path && taken.has(target)) {
        return Either.left(
          new DalUnsafePath({ ...subject, entry: entry.key, reason: "extracting it would overwrite a listed path" })
        )
      }
    }
  }
  return Either.void
}

/**
 * The names in each destination folder, read once per folder on first use (before any file of this run lands
 * there), so a fresh download skips two checks per file. Undefined when the folder cannot be read.
 */
const folderNames = () => {
  const read = new Map<string, Promise<ReadonlySet<string> | undefined>>()
  return (dir: string): Effect.Effect<ReadonlySet<string> | undefined> =>
    Effect.promise(() => {
      const known = read.get(dir)
      if (known !== undefined) return known
      const reading = Fs.readdir(dir).then((names): ReadonlySet<string> => new Set(names), () => undefined)
      read.set(dir, reading)
      return reading
    })
}

const isZip = (path: string): boolean => /\.zip$/i.test(path)

/** Refuses a file name longer than file systems take, before anything is written. */
const checkNameLength = (subject: Subject, entry: DalKey.Entry): Either.Either<void, DalUnsafePath> =>
  entry.segments.some((segment) => Buffer.byteLength(segment) > Transfer.maxNameBytes)
    ? Either.left(
      new DalUnsafePath({
        ...subject,
        entry: entry.key,
        reason: `has a name longer than ${Transfer.maxNameBytes} bytes, which file systems refuse`
      })
    )
    : Either.void

/** One file to `path`, beside which its temporary file and journal live until it is complete. */
export const file = (
  exchange: Exchange,
  subject: Subject,
  key: DalKey.DalKey,
  path: string,
  options?: { readonly datasetId?: string | undefined; readonly onProgress?: OnProgress | undefined }
): Effect.Effect<Transfer.FileOutcome, DalError> =>
  Effect.gen(function*() {
    const target = NodePath.resolve(path)
    const dir = NodePath.dirname(target)
    const name = NodePath.basename(target)
    yield* checkNameLength(subject, { key, segments: [name], directory: false })
    yield* Files.makeDirectories(dir).pipe(Effect.mapError(fileError(subject, dir)))
    const manifest = yield* Manifest.open(subject, dir)
    const tracker = yield* Tracker.make({ datasetId: options?.datasetId, key, filesTotal: 1 }, options?.onProgress)
    const outcome = yield* Transfer.downloadFile({ exchange, manifest, tracker }, {
      subject,
      key,
      dir,
      name,
      record: name
    })
    yield* manifest.finish
    return outcome
  }).pipe(Effect.scoped)

/** What a dataset key stands for on disk: the listing of a folder, or the one file it names. */
const entriesOf = (
  exchange: Exchange,
  subject: Subject,
  key: DalKey.DalKey
): Effect.Effect<ReadonlyArray<DalKey.Entry>, DalError> =>
  DalKey.isDirectory(key)
    ? Listing.list(exchange, { ...subject, operation: "list" }, key)
    : Either.match(DalKey.fileName(key), {
      onLeft: (reason) => Effect.fail(new DalUnsafePath({ ...subject, entry: key, reason })),
      onRight: (name) => Effect.succeed([{ key, directory: false, segments: [name] }])
    })

/** Extracts the downloaded archives, except unchanged ones whose folder an earlier run already made. */
const extractArchives = (
  subject: Subject,
  outcomes: ReadonlyArray<Transfer.FileOutcome>,
  limits: Partial<ZipExtract.Limits> | undefined
): Effect.Effect<ReadonlyArray<ZipExtract.Extracted>, DalError> =>
  Effect.forEach(outcomes.filter((o) => isZip(o.path)), (outcome) =>
    Effect.gen(function*() {
      const into = ZipExtract.defaultTarget(outcome.path)
      const present = yield* lstat(subject, into)
      // The folder only appears, by rename, once an extraction is complete.
      if (outcome.status === "skipped" && present?.isDirectory()) return []
      return [yield* ZipExtract.extract(outcome.path, into, { limits, datasetId: subject.datasetId, key: outcome.key })]
    })).pipe(Effect.map((lists) => lists.flat()))

/** A dataset's files below `dest`: a folder dataset at their paths below its key, a single file by its name. */
export const dataset = (
  exchange: Exchange,
  resolved: { readonly datasetId: string; readonly key: DalKey.DalKey },
  dest: string,
  options: DownloadOptions
): Effect.Effect<DatasetResult, DalError> =>
  Effect.gen(function*() {
    const { datasetId, key } = resolved
    const subject: Subject = { operation: "download", datasetId, key }
    const extract = options.extract !== undefined && options.extract !== false
    const entries = yield* entriesOf(exchange, subject, key)
    // Every entry is checked before the first byte is written.
    yield* conflicts(subject, entries, extract)
    for (const entry of entries) yield* checkNameLength(subject, entry)
    const dirs = yield* makeSafeDirs(subject, dest)
    for (const entry of entries) if (entry.directory) yield* dirs.ensure(subject, entry.segments)
    const files = entries.filter((e) => !e.directory)
    const manifest = yield* Manifest.open(subject, dirs.root)
    const tracker = yield* Tracker.make({ datasetId, key, filesTotal: files.length }, options.onProgress)
    const namesIn = folderNames()
    const outcomes = yield* Effect.forEach(
      files,
      (entry) =>
        Effect.gen(function*() {
          const dir = yield* dirs.ensure(subject, entry.segments.slice(0, -1))
          const name = entry.segments[entry.segments.length - 1] ?? ""
          const present = yield* namesIn(dir)
          return yield* Transfer.downloadFile({ exchange, manifest, tracker }, {
            subject: { ...subject, key: entry.key },
            key: entry.key,
            dir,
            name,
            record: entry.segments.join("/"),
            absent: present !== undefined && !present.has(name) && !present.has(Transfer.partialName(name))
          })
        }),
      { concurrency: options.concurrency ?? exchange.settings.maxWorkers }
    )
    yield* manifest.finish
    const extracted = extract
      ? yield* extractArchives(subject, outcomes, typeof options.extract === "object" ? options.extract : undefined)
      : []
    const count = (status: Transfer.FileStatus) => outcomes.filter((o) => o.status === status).length
    return {
      datasetId,
      key,
      dest: dirs.root,
      directory: DalKey.isDirectory(key),
      files: outcomes,
      bytes: outcomes.reduce((sum, o) => sum + o.bytes, 0),
      downloaded: count("downloaded"),
      resumed: count("resumed"),
      skipped: count("skipped"),
      extracted
    }
  }).pipe(Effect.scoped)
