/**
 * The DAL client service: resolve dataset ids, list directory keys, stream and download files and whole datasets
 * (resumable, skipping complete files, bounded concurrency), read asset policies, and upload derived datasets.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { createReadStream } from "node:fs"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import { AssetPolicy } from "./AssetPolicy.js"
import {
  type DalConfigError,
  type DalError,
  DalIntegrityError,
  DalInvalidArgument,
  DalNotFound,
  DalTransportError,
  DalUnsafePath,
  type Subject
} from "./DalError.js"
import * as DalKey from "./DalKey.js"
import { DalSettings, layer as settingsLayer, type Settings } from "./DalSettings.js"
import * as DalTransport from "./DalTransport.js"
import * as Exchange from "./internal/exchange.js"
import * as Files from "./internal/files.js"
import * as Listing from "./internal/listing.js"
import * as Manifest from "./internal/manifest.js"
import { fileError, lstat, makeSafeDirs } from "./internal/safeFs.js"
import * as Tracker from "./internal/tracker.js"
import * as Transfer from "./internal/transfer.js"
import type { OnProgress } from "./Progress.js"
import * as ZipExtract from "./ZipExtract.js"

/**
 * @since 0.1.0
 */
export type { FileOutcome, FileStatus } from "./internal/transfer.js"

/**
 * Options of {@link DalClientService.downloadDataset}.
 *
 * @since 0.1.0
 */
export interface DownloadOptions {
  /** Files in flight at once; default `APH_MAX_WORKERS` (16). */
  readonly concurrency?: number | undefined
  /** Extract each downloaded `.zip` into a folder beside it (named without `.zip`), with these limits. */
  readonly extract?: boolean | Partial<ZipExtract.Limits> | undefined
  readonly onProgress?: OnProgress | undefined
}

/**
 * What {@link DalClientService.downloadDataset} did.
 *
 * @since 0.1.0
 */
export interface DatasetResult {
  readonly datasetId: string
  readonly key: DalKey.DalKey
  /** The destination folder, absolute. */
  readonly dest: string
  readonly directory: boolean
  readonly files: ReadonlyArray<Transfer.FileOutcome>
  /** Bytes of the dataset now on disk. */
  readonly bytes: number
  readonly downloaded: number
  readonly resumed: number
  readonly skipped: number
  readonly extracted: ReadonlyArray<ZipExtract.Extracted>
}

/**
 * What {@link DalClientService.putDerived} sent.
 *
 * @since 0.1.0
 */
export interface Uploaded {
  readonly name: string
  readonly file: string
  readonly bytes: number
}

/**
 * @since 0.1.0
 */
export interface DalClientService {
  readonly settings: Settings
  /** The key `APH_DATA` maps a dataset id to. */
  readonly resolve: (datasetId: string) => Effect.Effect<DalKey.DalKey, DalNotFound>
  /**
   * Every entry below a directory key (ending in `/`), files and folders, sorted: all pages, and listed folders
   * whose children were not listed are listed in turn. Every entry must lie safely below `key`.
   */
  readonly list: (
    key: string,
    options?: { readonly datasetId?: string | undefined }
  ) => Effect.Effect<ReadonlyArray<DalKey.Entry>, DalError>
  /** One file's bytes, never touching disk; a broken body resumes with Range. */
  readonly stream: (
    key: string,
    options?: { readonly datasetId?: string | undefined }
  ) => Stream.Stream<Uint8Array, DalError>
  /** One file to `path` (temporary file beside it, renamed when complete; skipped when already complete). */
  readonly downloadFile: (
    key: string,
    path: string,
    options?: { readonly datasetId?: string | undefined; readonly onProgress?: OnProgress | undefined }
  ) => Effect.Effect<Transfer.FileOutcome, DalError>
  /**
   * A dataset into the folder `dest`: a directory dataset's files at `dest/<path below the dataset key>`, a
   * single-file dataset at `dest/<file name>`.
   */
  readonly downloadDataset: (
    datasetId: string,
    dest: string,
    options?: DownloadOptions
  ) => Effect.Effect<DatasetResult, DalError>
  /** The asset policy of a dataset (`GET policies/{key}`). */
  readonly policy: (datasetId: string) => Effect.Effect<AssetPolicy, DalError>
  /** Uploads one file of a derived dataset (`PUT dataset/{name}/{file}`), streamed from memory or disk. */
  readonly putDerived: (
    name: string,
    file: string,
    source: Uint8Array | { readonly path: string }
  ) => Effect.Effect<Uploaded, DalError>
}

/**
 * @since 0.1.0
 */
export class DalClient extends Context.Tag("@fedkit/dal-client/DalClient")<DalClient, DalClientService>() {}

export { ConnectionPool, layerConnectionPool } from "./DalTransport.js"

const decodePolicy = Schema.decodeUnknownEither(Schema.parseJson(AssetPolicy))

// An asset policy is a few hundred bytes; anything near this is not one.
const maxPolicyBytes = 1024 * 1024

const checkKey = (subject: Subject, key: string, directory: boolean | undefined) => {
  const decoded = Schema.decodeUnknownEither(DalKey.DalKey)(key)
  if (Either.isLeft(decoded)) {
    return Either.left(
      new DalInvalidArgument({
        ...subject,
        argument: "key",
        reason: ParseResult.TreeFormatter.formatErrorSync(decoded.left)
      })
    )
  }
  if (directory !== undefined && DalKey.isDirectory(key) !== directory) {
    return Either.left(
      new DalInvalidArgument({
        ...subject,
        argument: "key",
        reason: directory ? "a directory key must end in '/'" : "names a directory (ends in '/'), not a file"
      })
    )
  }
  return Either.right(decoded.right)
}

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

/**
 * @since 0.1.0
 */
export const make: Effect.Effect<
  DalClientService,
  never,
  DalSettings | DalTransport.DalTransport
> = Effect.gen(function*() {
  const settings = yield* DalSettings
  const exchange = Exchange.make(settings, yield* DalTransport.DalTransport)

  const deadlineError = (subject: Subject, deadline: Duration.Duration) =>
    new DalTransportError({
      ...subject,
      reason: `not finished within the deadline of ${Duration.format(deadline)}`,
      attempts: 1,
      advice: "raise APH_DEADLINE (or --deadline), or check the DAL's speed"
    })

  /** Fails `effect` with a clear error when the optional overall deadline passes. */
  const withDeadline = (subject: Subject) => <A, E, R>(effect: Effect.Effect<A, E, R>) => {
    const deadline = settings.deadline
    return deadline === undefined
      ? effect
      : Effect.timeoutFail(effect, { duration: deadline, onTimeout: () => deadlineError(subject, deadline) })
  }

  const resolve = (datasetId: string) =>
    Effect.suspend(() => {
      const key = Object.hasOwn(settings.data, datasetId) ? settings.data[datasetId] : undefined
      return key === undefined
        ? Effect.fail(new DalNotFound({ operation: "resolve", datasetId, known: Object.keys(settings.data) }))
        : Effect.succeed(key)
    })

  const list: DalClientService["list"] = (key, options) =>
    Effect.suspend(() => {
      const subject: Subject = { operation: "list", datasetId: options?.datasetId, key }
      return Effect.flatMap(checkKey(subject, key, true), (k) => Listing.list(exchange, subject, k)).pipe(
        withDeadline(subject)
      )
    })

  const stream: DalClientService["stream"] = (key, options) =>
    Stream.suspend(() => {
      const subject: Subject = { operation: "stream", datasetId: options?.datasetId, key }
      const deadline = settings.deadline
      return Either.match(checkKey(subject, key, false), {
        onLeft: Stream.fail,
        onRight: (k) =>
          deadline === undefined ? Transfer.stream(exchange, subject, k) : Transfer.stream(exchange, subject, k).pipe(
            Stream.interruptWhen(Effect.zipRight(Effect.sleep(deadline), Effect.fail(deadlineError(subject, deadline))))
          )
      })
    })

  const downloadFile: DalClientService["downloadFile"] = (key, path, options) =>
    Effect.gen(function*() {
      const subject: Subject = { operation: "download", datasetId: options?.datasetId, key }
      const k = yield* checkKey(subject, key, false)
      const target = NodePath.resolve(path)
      const dir = NodePath.dirname(target)
      yield* checkNameLength(subject, { key: k, segments: [NodePath.basename(target)], directory: false })
      yield* Files.makeDirectories(dir).pipe(Effect.mapError(fileError(subject, dir)))
      const manifest = yield* Manifest.open(subject, dir)
      const tracker = yield* Tracker.make({ datasetId: options?.datasetId, key, filesTotal: 1 }, options?.onProgress)
      const outcome = yield* Transfer.downloadFile({ exchange, manifest, tracker }, {
        subject,
        key: k,
        dir,
        name: NodePath.basename(target),
        record: NodePath.basename(target)
      })
      yield* manifest.finish
      return outcome
    }).pipe(Effect.scoped, (effect) =>
      withDeadline({ operation: "download", datasetId: options?.datasetId, key })(effect))

  const downloadDataset: DalClientService["downloadDataset"] = (datasetId, dest, options = {}) =>
    Effect.gen(function*() {
      const key = yield* resolve(datasetId)
      const subject: Subject = { operation: "download", datasetId, key }
      const directory = DalKey.isDirectory(key)
      const extract = options.extract !== undefined && options.extract !== false
      const entries: ReadonlyArray<DalKey.Entry> = directory
        ? yield* Listing.list(exchange, { ...subject, operation: "list" }, key)
        : [{
          key,
          directory: false,
          segments: [
            yield* Either.mapLeft(
              DalKey.fileName(key),
              (reason) => new DalUnsafePath({ ...subject, entry: key, reason })
            )
          ]
        }]
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
        { concurrency: options.concurrency ?? settings.maxWorkers }
      )
      yield* manifest.finish
      const extracted = extract
        ? yield* Effect.forEach(outcomes.filter((o) => isZip(o.path)), (outcome) =>
          Effect.gen(function*() {
            const into = ZipExtract.defaultTarget(outcome.path)
            const present = yield* lstat(subject, into)
            // An unchanged archive whose folder exists was extracted by an earlier run (the folder only
            // appears, by rename, once complete).
            if (outcome.status === "skipped" && present?.isDirectory()) return []
            return [
              yield* ZipExtract.extract(outcome.path, into, {
                limits: typeof options.extract === "object" ? options.extract : undefined,
                datasetId,
                key: outcome.key
              })
            ]
          })).pipe(Effect.map((lists) => lists.flat()))
        : []
      const count = (status: Transfer.FileStatus) => outcomes.filter((o) => o.status === status).length
      return {
        datasetId,
        key,
        dest: dirs.root,
        directory,
        files: outcomes,
        bytes: outcomes.reduce((sum, o) => sum + o.bytes, 0),
        downloaded: count("downloaded"),
        resumed: count("resumed"),
        skipped: count("skipped"),
        extracted
      }
    }).pipe(Effect.scoped, (effect) => withDeadline({ operation: "download", datasetId })(effect))

  const policy: DalClientService["policy"] = (datasetId) =>
    Effect.gen(function*() {
      const key = yield* resolve(datasetId)
      const subject: Subject = { operation: "policy", datasetId, key }
      const url = exchange.url(`policies/${DalKey.encode(key)}`)
      const body = yield* exchange.retrying(() =>
        Effect.flatMap(
          exchange.send(subject, {
            method: "GET",
            url,
            headers: { accept: "application/json", "accept-encoding": "identity" }
          }),
          (response) => exchange.collect(subject, response, { bytes: maxPolicyBytes, what: "the asset policy" })
        ).pipe(Effect.scoped)
      )
      return yield* Either.mapLeft(decodePolicy(body.toString("utf8")), (e) =>
        new DalIntegrityError({
          ...subject,
          // the decoder quotes what it got, which a hostile DAL could fill with the token
          reason: `the policy is not a valid asset policy (${
            exchange.scrub.text(ParseResult.TreeFormatter.formatErrorSync(e).split("\n").join(" ")).slice(0, 200)
          })`
        }))
    }).pipe((effect) => withDeadline({ operation: "policy", datasetId })(effect))

  const putDerived: DalClientService["putDerived"] = (name, file, source) =>
    Effect.gen(function*() {
      const subject: Subject = { operation: "upload", datasetId: name, key: file }
      const nameSegments = DalKey.relativeSegments(name)
      if (Either.isLeft(nameSegments) || nameSegments.right.length !== 1) {
        return yield* new DalInvalidArgument({
          ...subject,
          argument: "derived dataset name",
          reason: Either.isLeft(nameSegments) ? nameSegments.left : "must be a single path segment"
        })
      }
      const fileSegments = yield* Either.mapLeft(
        DalKey.relativeSegments(file),
        (reason) => new DalInvalidArgument({ ...subject, argument: "file name", reason })
      )
      const url = exchange.url(
        `dataset/${encodeURIComponent(name)}/${fileSegments.map(encodeURIComponent).join("/")}`
      )
      const body = source instanceof Uint8Array
        ? { open: () => source, length: source.length }
        : {
          open: () => createReadStream(source.path),
          length: Number((yield* Files.stat(source.path).pipe(Effect.mapError(fileError(subject, source.path)))).size)
        }
      yield* exchange.retrying(() =>
        Effect.flatMap(
          exchange.send(subject, {
            method: "PUT",
            url,
            headers: { "content-type": "application/octet-stream" },
            body
          }),
          (response) => exchange.collect(subject, response, { bytes: maxPolicyBytes, what: "the answer to the upload" })
        ).pipe(Effect.scoped)
      )
      return { name, file, bytes: body.length }
    }).pipe((effect) => withDeadline({ operation: "upload", datasetId: name, key: file })(effect))

  return { settings, resolve, list, stream, downloadFile, downloadDataset, policy, putDerived }
})

/**
 * The client, given settings and a transport.
 *
 * @since 0.1.0
 */
export const layerWithTransport: Layer.Layer<DalClient, never, DalSettings | DalTransport.DalTransport> = Layer
  .effect(DalClient, make)

/**
 * The client over the live transport, given settings and a connection pool.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<DalClient, never, DalSettings | DalTransport.ConnectionPool> = layerWithTransport
  .pipe(Layer.provide(DalTransport.layer))

/**
 * Everything but the settings: fresh connection pools.
 *
 * @since 0.1.0
 */
export const layerWithoutSettings: Layer.Layer<DalClient, never, DalSettings> = layer.pipe(
  Layer.provide(DalTransport.layerConnectionPool)
)

/**
 * The client on Node, settings from the `APH_*` variables.
 *
 * @since 0.1.0
 */
export const layerNode: Layer.Layer<DalClient, DalConfigError> = layerWithoutSettings.pipe(
  Layer.provide(settingsLayer)
)

/**
 * A stand-in for tests of code that uses the client: unimplemented operations die with a clear message.
 *
 * @since 0.1.0
 */
export const layerTest = (implementation: Partial<DalClientService>): Layer.Layer<DalClient> =>
  Layer.succeed(
    DalClient,
    new Proxy(implementation as DalClientService, {
      get: (target, property) =>
        property in target
          ? target[property as keyof DalClientService]
          : () => Effect.dieMessage(`DalClient.layerTest: ${String(property)} is not implemented`)
    })
  )
