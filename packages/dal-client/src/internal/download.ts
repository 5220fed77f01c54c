/**
 * Downloading one file to a path, and a whole dataset into a folder: every listed entry is checked before the first
 * byte is written (names, file/folder clashes, extraction targets), then files move with bounded concurrency through
 * transfer.ts, and downloaded archives are extracted on request. Per-file state is a byte and a number per path
 * (typed arrays), so a plan of millions of files stays small.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import type { DatasetResult, DownloadOptions, FileOutcomes } from "../DalClient.js"
import { type DalError, DalUnsafePath, type Subject } from "../DalError.js"
import * as DalKey from "../DalKey.js"
import type { OnProgress } from "../Progress.js"
import * as ZipExtract from "../ZipExtract.js"
import type { Exchange } from "./exchange.js"
import * as Files from "./files.js"
import * as KeyList from "./keyList.js"
import * as Listing from "./listing.js"
import * as Manifest from "./manifest.js"
import { fileError, lstat, makeSafeDirs } from "./safeFs.js"
import * as Tracker from "./tracker.js"
import * as Transfer from "./transfer.js"

const isZip = (path: string): boolean => /\.zip$/i.test(path)

/** Why a file system would refuse `name` (a single path segment), or undefined when its length is fine. */
const longName = (name: string): string | undefined =>
  Buffer.byteLength(name) > Transfer.maxNameBytes
    ? `has a name longer than ${Transfer.maxNameBytes} bytes, which file systems refuse`
    : undefined

/** A dataset checked and ready to download. */
export interface Plan {
  readonly datasetId: string
  readonly key: DalKey.DalKey
  readonly directory: boolean
  /** Paths below the destination, sorted: a folder dataset's listing (folders end in `/`), or the one file's name. */
  readonly paths: KeyList.KeyList
  readonly files: number
  readonly folders: number
}

const keyOf = (plan: Pick<Plan, "key" | "directory">, path: string): DalKey.DalKey =>
  plan.directory ? (plan.key + path) as DalKey.DalKey : plan.key

/**
 * One pass over the sorted paths: names file systems take, no path both a file and a folder, and (when archives are
 * extracted) no extraction folder on a listed path. In sorted order, every path between a file `f` and a path below
 * `f/` starts with `f`, so the files that may still turn out to be folders form a stack of prefixes of each other.
 */
const check = (
  subject: Subject,
  plan: Omit<Plan, "files" | "folders">,
  extract: boolean
): Either.Either<{ readonly files: number; readonly folders: number }, DalUnsafePath> => {
  const refuse = (path: string, reason: string) =>
    Either.left(new DalUnsafePath({ ...subject, entry: keyOf(plan, path), reason }))
  const openFiles: Array<string> = []
  let files = 0
  let folders = 0
  const cursor = plan.paths.cursor()
  for (let path = cursor.next(); path !== undefined; path = cursor.next()) {
    while (openFiles.length > 0 && !path.startsWith(openFiles[openFiles.length - 1]!)) openFiles.pop()
    const folderOf = openFiles.find((file) => path.charCodeAt(file.length) === 0x2f)
    if (folderOf !== undefined) return refuse(folderOf, "is listed both as a file and as a folder")
    const folder = DalKey.isDirectory(path)
    const segments = (folder ? path.slice(0, -1) : path).split("/")
    for (const segment of segments) {
      const tooLong = longName(segment)
      if (tooLong !== undefined) return refuse(path, tooLong)
    }
    if (folder) {
      folders++
      continue
    }
    files++
    openFiles.push(path)
    if (extract && isZip(path)) {
      const target = ZipExtract.defaultTarget(path)
      if (plan.paths.has(target) || plan.paths.hasPrefix(target + "/")) {
        return refuse(path, "extracting it would overwrite a listed path")
      }
    }
  }
  return Either.right({ files, folders })
}

/** A folder's names, or undefined when it cannot be read or holds more than `limit` (then files are checked singly). */
const namesUpTo = async (dir: string, limit: number): Promise<ReadonlySet<string> | undefined> => {
  try {
    const names = new Set<string>()
    for await (const entry of await Fs.opendir(dir, { bufferSize: 1024 })) {
      if (names.size === limit) return undefined
      names.add(entry.name)
    }
    return names
  } catch {
    return undefined
  }
}

/**
 * The names in each destination folder, read once per folder on first use (before any file of this run lands
 * there), so a fresh download skips two checks per file. Bounded for re-runs of huge datasets: up to 65,536 names
 * per folder, and the 256 folders read last (paths come sorted, so a folder's files mostly come together); a folder
 * read again also holds this run's files, which are other paths than the ones still to come.
 */
const folderNames = () => {
  const read = new Map<string, Promise<ReadonlySet<string> | undefined>>()
  return (dir: string): Effect.Effect<ReadonlySet<string> | undefined> =>
    Effect.promise(() => {
      const known = read.get(dir)
      if (known !== undefined) return known
      const reading = namesUpTo(dir, 65_536)
      read.set(dir, reading)
      if (read.size > 256) read.delete(read.keys().next().value!)
      return reading
    })
}

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
    const tooLong = longName(name)
    if (tooLong !== undefined) return yield* new DalUnsafePath({ ...subject, entry: key, reason: tooLong })
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

/** The paths a dataset key stands for on disk: the listing of a folder, or the one file it names. */
const pathsOf = (
  exchange: Exchange,
  subject: Subject,
  key: DalKey.DalKey
): Effect.Effect<KeyList.KeyList, DalError> =>
  DalKey.isDirectory(key)
    ? Effect.map(Listing.list(exchange, { ...subject, operation: "list" }, key), (listed) => listed.relative)
    : Either.match(DalKey.fileName(key), {
      onLeft: (reason) => Effect.fail(new DalUnsafePath({ ...subject, entry: key, reason })),
      onRight: (name) => Effect.succeed(KeyList.of([name]))
    })

/** Lists a dataset and checks every path (see `check`); nothing is written. */
export const plan = (
  exchange: Exchange,
  resolved: { readonly datasetId: string; readonly key: DalKey.DalKey },
  extract: boolean
): Effect.Effect<Plan, DalError> =>
  Effect.gen(function*() {
    const { datasetId, key } = resolved
    const subject: Subject = { operation: "download", datasetId, key }
    const paths = yield* pathsOf(exchange, subject, key)
    const unchecked = { datasetId, key, directory: DalKey.isDirectory(key), paths }
    return { ...unchecked, ...yield* check(subject, unchecked, extract) }
  })

/** Extracts the downloaded archives, except unchanged ones whose folder an earlier run already made. */
const extractArchives = (
  subject: Subject,
  outcomes: ReadonlyArray<Transfer.FileOutcome>,
  limits: Partial<ZipExtract.Limits> | undefined
): Effect.Effect<ReadonlyArray<ZipExtract.Extracted>, DalError> =>
  Effect.forEach(outcomes, (outcome) =>
    Effect.gen(function*() {
      const into = ZipExtract.defaultTarget(outcome.path)
      const present = yield* lstat(subject, into)
      // The folder only appears, by rename, once an extraction is complete.
      if (outcome.status === "skipped" && present?.isDirectory()) return []
      return [yield* ZipExtract.extract(outcome.path, into, { limits, datasetId: subject.datasetId, key: outcome.key })]
    })).pipe(Effect.map((lists) => lists.flat()))

const statuses: ReadonlyArray<Transfer.FileStatus> = ["downloaded", "resumed", "skipped"]

/**
 * The outcomes of a plan's files, one byte and one number per path (a million files: 9 MB), made into objects only
 * when iterated.
 */
const outcomesOf = (root: string, planned: Plan, status: Uint8Array, sizes: Float64Array): FileOutcomes => ({
  size: planned.files,
  *[Symbol.iterator]() {
    const cursor = planned.paths.cursor()
    for (let path = cursor.next(), index = 0; path !== undefined; path = cursor.next(), index++) {
      if (DalKey.isDirectory(path)) continue
      yield {
        key: keyOf(planned, path),
        path: NodePath.join(root, path),
        bytes: sizes[index]!,
        status: statuses[status[index]!]!
      }
    }
  }
})

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
    // Every path is checked before the first byte is written.
    const planned = yield* plan(exchange, resolved, extract)
    const dirs = yield* makeSafeDirs(subject, dest)
    const folders = planned.paths.cursor()
    for (let path = folders.next(); path !== undefined; path = folders.next()) {
      if (DalKey.isDirectory(path)) yield* dirs.ensure(subject, path.slice(0, -1).split("/"))
    }
    const manifest = yield* Manifest.open(subject, dirs.root)
    const tracker = yield* Tracker.make({ datasetId, key, filesTotal: planned.files }, options.onProgress)
    const namesIn = folderNames()
    const status = new Uint8Array(planned.paths.size)
    const sizes = new Float64Array(planned.paths.size)
    const totals = { bytes: 0, downloaded: 0, resumed: 0, skipped: 0 }
    const archives: Array<Transfer.FileOutcome> = []
    // Workers take the next path from one pass over the plan, so no per-file state exists before its turn
    // (Effect.forEach would first copy every path into an array, and collect every outcome into another).
    const paths = planned.paths.cursor()
    let next = 0
    const worker = Effect.gen(function*() {
      for (let path = paths.next(); path !== undefined; path = paths.next()) {
        const index = next++
        if (DalKey.isDirectory(path)) continue
        const segments = path.split("/")
        const dir = yield* dirs.ensure(subject, segments.slice(0, -1))
        const name = segments[segments.length - 1]!
        const present = yield* namesIn(dir)
        const fileKey = keyOf(planned, path)
        const outcome = yield* Transfer.downloadFile({ exchange, manifest, tracker }, {
          subject: { ...subject, key: fileKey },
          key: fileKey,
          dir,
          name,
          record: path,
          absent: present !== undefined && !present.has(name) && !present.has(Transfer.partialName(name))
        })
        status[index] = statuses.indexOf(outcome.status)
        sizes[index] = outcome.bytes
        totals.bytes += outcome.bytes
        totals[outcome.status]++
        if (extract && isZip(path)) archives.push(outcome)
      }
    })
    const workers = Math.max(1, Math.min(options.concurrency ?? exchange.settings.maxWorkers, planned.files))
    yield* Effect.all(Array.from({ length: workers }, () => worker), { concurrency: "unbounded", discard: true })
    yield* manifest.finish
    archives.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    const extracted = extract
      ? yield* extractArchives(subject, archives, typeof options.extract === "object" ? options.extract : undefined)
      : []
    return {
      datasetId,
      key,
      dest: dirs.root,
      directory: planned.directory,
      files: outcomesOf(dirs.root, planned, status, sizes),
      ...totals,
      extracted
    }
  }).pipe(Effect.scoped)
