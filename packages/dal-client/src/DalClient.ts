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
import { type AssetPolicy } from "./AssetPolicy.js"
import {
  type DalConfigError,
  type DalError,
  DalInvalidArgument,
  DalNotFound,
  DalTransportError,
  type Subject
} from "./DalError.js"
import * as DalKey from "./DalKey.js"
import { DalSettings, layer as settingsLayer, type Settings } from "./DalSettings.js"
import * as DalTransport from "./DalTransport.js"
import * as Download from "./internal/download.js"
import * as Exchange from "./internal/exchange.js"
import * as Lister from "./internal/listing.js"
import * as Policy from "./internal/policy.js"
import * as Transfer from "./internal/transfer.js"
import * as Upload from "./internal/upload.js"
import type { OnProgress } from "./Progress.js"
import type * as ZipExtract from "./ZipExtract.js"

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
 * The entries of a listing in key order. Held compactly (a few bytes per key: 10 million fit in 512 MiB) and made
 * into {@link DalKey.Entry} objects only as they are iterated; `[...listing]` makes them all at once.
 *
 * @since 0.1.0
 */
export interface Listing extends Iterable<DalKey.Entry> {
  /** How many entries, files and folders. */
  readonly size: number
}

/**
 * The outcome of each file of a dataset download, in key order, made into objects only as they are iterated.
 *
 * @since 0.1.0
 */
export interface FileOutcomes extends Iterable<Transfer.FileOutcome> {
  /** How many files. */
  readonly size: number
}

/**
 * What {@link DalClientService.planDataset} found: a dataset listed and checked, nothing written.
 *
 * @since 0.1.0
 */
export interface DatasetPlan {
  readonly datasetId: string
  readonly key: DalKey.DalKey
  readonly directory: boolean
  /** Files to download. */
  readonly files: number
  /** Folders listed as entries of their own. */
  readonly folders: number
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
  /** Each file's outcome (`files.size` of them), iterable. */
  readonly files: FileOutcomes
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
  ) => Effect.Effect<Listing, DalError>
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
  /**
   * What {@link downloadDataset} would download, writing nothing: the dataset is listed and every path checked
   * (safe names, no path both a file and a folder, and with `extract` no extraction folder on a listed path).
   */
  readonly planDataset: (
    datasetId: string,
    options?: { readonly extract?: boolean | undefined }
  ) => Effect.Effect<DatasetPlan, DalError>
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

/**
 * The connection pool the live transport uses, re-exported for callers that build `DalClient` layers by hand.
 *
 * @since 0.1.0
 */
export { ConnectionPool, layerConnectionPool } from "./DalTransport.js"

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
      return Effect.flatMap(checkKey(subject, key, true), (k) => Lister.list(exchange, subject, k)).pipe(
        Effect.map(Lister.entries),
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
    Effect.suspend(() => {
      const subject: Subject = { operation: "download", datasetId: options?.datasetId, key }
      return Effect.flatMap(checkKey(subject, key, false), (k) => Download.file(exchange, subject, k, path, options))
        .pipe(withDeadline(subject))
    })

  const downloadDataset: DalClientService["downloadDataset"] = (datasetId, dest, options = {}) =>
    Effect.flatMap(resolve(datasetId), (key) => Download.dataset(exchange, { datasetId, key }, dest, options)).pipe(
      withDeadline({ operation: "download", datasetId })
    )

  const planDataset: DalClientService["planDataset"] = (datasetId, options) =>
    Effect.flatMap(resolve(datasetId), (key) => Download.plan(exchange, { datasetId, key }, options?.extract === true))
      .pipe(
        Effect.map(({ datasetId, directory, files, folders, key }) => ({ datasetId, key, directory, files, folders })),
        withDeadline({ operation: "download", datasetId })
      )

  const policy: DalClientService["policy"] = (datasetId) =>
    Effect.flatMap(resolve(datasetId), (key) => Policy.read(exchange, { operation: "policy", datasetId, key })).pipe(
      withDeadline({ operation: "policy", datasetId })
    )

  const putDerived: DalClientService["putDerived"] = (name, file, source) =>
    Upload.putDerived(exchange, name, file, source).pipe(
      withDeadline({ operation: "upload", datasetId: name, key: file })
    )

  return { settings, resolve, list, stream, downloadFile, downloadDataset, planDataset, policy, putDerived }
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
 * A stand-in for tests of code that uses the client, made with Effect's `Layer.mock`: give `settings` and the
 * operations the test needs; any other operation dies with an `UnimplementedError` naming it.
 *
 * @since 0.1.0
 */
export const layerTest: (service: Layer.PartialEffectful<DalClientService>) => Layer.Layer<DalClient> = Layer.mock(
  DalClient
)
