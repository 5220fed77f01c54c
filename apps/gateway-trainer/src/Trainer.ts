/**
 * The gateway-side trainer: the long-lived Node process FLARE's Python bridge starts. Before it says `Ready` it runs
 * a preflight: it reads the `APH_*` settings, fetches the asset policy of every dataset in `APH_DATA` and refuses to
 * run unless each policy lets {@link FUNCTION_NAME} run, then downloads the datasets (directories of CSV files or zip
 * archives of them) into a private temporary folder and loads them. Then it answers the bridge's frames until
 * `Shutdown`. Every failure is reported as a sanitized {@link TrainerFailure}.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { AssetPolicy, DalClient } from "@fedkit/dal-client"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as CsvShard from "./CsvShard.js"
import * as LocalRound from "./LocalRound.js"
import type * as Protocol from "./Protocol.js"
import * as Samples from "./Samples.js"
import { fromDalError, fromDefect, identifier, TrainerFailure } from "./TrainerFailure.js"

/**
 * The name asset policies must list in `allowed_function_names` when they restrict functions.
 *
 * @since 0.1.0
 */
export const FUNCTION_NAME = "fedkit_logistic_regression"

/**
 * @since 0.1.0
 */
export interface LocalData {
  readonly samples: Samples.Samples
  readonly datasets: number
}

const checkPolicies = (client: DalClient.DalClientService, ids: ReadonlyArray<string>) =>
  Effect.forEach(ids, (datasetId) =>
    Effect.gen(function*() {
      const policy = yield* client.policy(datasetId).pipe(
        Effect.mapError((error) => fromDalError(error, "preflight/policy"))
      )
      if (!AssetPolicy.mayRun(policy, FUNCTION_NAME)) {
        return yield* new TrainerFailure({
          type: "PolicyRefused",
          place: "preflight/policy",
          reason: `the asset policy of ${identifier(datasetId, "a dataset")} restricts the functions that may run ` +
            `and does not allow ${JSON.stringify(FUNCTION_NAME)}; nothing was downloaded`
        })
      }
      yield* Effect.logInfo(`the asset policy of ${identifier(datasetId, "a dataset")} allows ${FUNCTION_NAME}`)
    }), { discard: true })

const reserved = /\.fedkit-(?:part|extract)$/

/** The CSV files of a downloaded dataset (extracted archives included), as sorted relative paths. */
const csvFiles = (fs: FileSystem.FileSystem, root: string) =>
  fs.readDirectory(root, { recursive: true }).pipe(
    Effect.map((paths) => paths.filter((path) => /\.csv$/i.test(path) && !reserved.test(path)).sort()),
    Effect.mapError(() =>
      new TrainerFailure({
        type: "DatasetUnreadable",
        place: "preflight/load",
        reason: "cannot list the downloaded files"
      })
    )
  )

const loadDataset = (datasetId: string, root: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const name = identifier(datasetId, "a dataset")
    const files = yield* csvFiles(fs, root)
    if (files.length === 0) {
      return yield* new TrainerFailure({
        type: "DatasetInvalid",
        place: "preflight/load",
        reason: `${name} holds no .csv file (a directory of CSV files or a zip archive of them is expected)`
      })
    }
    const parts = yield* Effect.forEach(files, (file, index) =>
      Effect.gen(function*() {
        const where = `file ${identifier(file, `#${index + 1}`)} of ${name}`
        const text = yield* fs.readFileString(path.join(root, file)).pipe(
          Effect.mapError(() =>
            new TrainerFailure({ type: "DatasetUnreadable", place: "preflight/load", reason: `cannot read ${where}` })
          )
        )
        return yield* Either.mapLeft(CsvShard.decode(text), (problem) =>
          new TrainerFailure({
            type: "DatasetInvalid",
            place: "preflight/load",
            reason: `${where}, line ${problem.line}: ${problem.problem}`
          }))
      }))
    const samples = Samples.concat(parts)
    yield* Effect.logInfo(`loaded ${samples.count} rows of ${name} from ${files.length} CSV file(s)`)
    return samples
  })

/**
 * Settings, policies, download, load. Policies are all checked before the first byte of data is fetched. The data
 * lives in a temporary folder that is removed when the scope closes.
 *
 * @since 0.1.0
 */
export const preflight: Effect.Effect<
  LocalData,
  TrainerFailure,
  DalClient.DalClient | FileSystem.FileSystem | Path.Path | Scope.Scope
> = Effect.gen(function*() {
  const client = yield* DalClient.DalClient
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const ids = Object.keys(client.settings.data).sort()
  if (ids.length === 0) {
    return yield* new TrainerFailure({
      type: "NoDataset",
      place: "preflight/settings",
      reason: "APH_DATA names no dataset for this gateway"
    })
  }
  yield* checkPolicies(client, ids)
  const folder = yield* fs.makeTempDirectoryScoped({ prefix: "fedkit-trainer-" }).pipe(
    Effect.mapError(() =>
      new TrainerFailure({
        type: "LocalDiskError",
        place: "preflight/download",
        reason: "cannot create a temporary folder"
      })
    )
  )
  const parts = yield* Effect.forEach(ids, (datasetId, index) =>
    Effect.gen(function*() {
      const dest = path.join(folder, `dataset-${index + 1}`)
      const result = yield* client.downloadDataset(datasetId, dest, { extract: true }).pipe(
        Effect.mapError((error) => fromDalError(error, "preflight/download"))
      )
      yield* Effect.logInfo(
        `downloaded ${identifier(datasetId, "a dataset")}: ${result.files.size} file(s), ${result.bytes} bytes` +
          (result.extracted.length > 0 ? `, ${result.extracted.length} archive(s) extracted` : "")
      )
      return yield* loadDataset(datasetId, result.dest)
    }))
  return { samples: Samples.concat(parts), datasets: ids.length }
}).pipe(
  Effect.catchAllDefect((defect) => Effect.fail(fromDefect(defect, "preflight")))
)

const describeRound = (message: Extract<Protocol.Message, { _tag: "Train" }>, outcome: LocalRound.Outcome): string => {
  if (outcome.phase === "statistics") return `round ${message.round}: feature statistics of ${outcome.samples} rows`
  const { settings } = message
  const m = outcome.metrics
  return `round ${message.round}: trained on ${outcome.samples} rows (${settings.optimizer}, lr ${settings.learningRate}, ` +
    `${settings.localEpochs} epoch(s), batch ${settings.batchSize}): loss ${m.global_loss.toFixed(4)} -> ` +
    `${m.local_loss.toFixed(4)}, accuracy ${m.global_accuracy.toFixed(4)} -> ${m.local_accuracy.toFixed(4)}`
}

/**
 * The bridge's side of the conversation.
 *
 * @since 0.1.0
 */
export interface Channel {
  readonly incoming: Stream.Stream<Protocol.Message, TrainerFailure>
  readonly send: (message: Protocol.Message) => Effect.Effect<void, TrainerFailure>
}

const unexpected = (message: Protocol.Message) =>
  new TrainerFailure({
    type: "ProtocolError",
    place: "serve",
    reason: `the bridge sent a ${message._tag} message, which only the trainer may send`
  })

/**
 * Answers `Train` and `Ping` until `Shutdown` (or until the bridge closes the channel between frames).
 *
 * @since 0.1.0
 */
export const serve = (data: LocalData, channel: Channel): Effect.Effect<void, TrainerFailure> =>
  channel.incoming.pipe(
    Stream.mapEffect((message) =>
      Effect.gen(function*() {
        switch (message._tag) {
          case "Train": {
            const place = `round ${message.round}`
            const outcome = yield* Effect.try({
              try: () => LocalRound.run(message.vector, data.samples, message.settings, message.round),
              catch: (defect) => fromDefect(defect, place)
            }).pipe(
              Effect.flatMap(
                Either.mapLeft((error) => new TrainerFailure({ type: error._tag, place, reason: error.message }))
              )
            )
            yield* Effect.logInfo(describeRound(message, outcome))
            yield* channel.send({
              _tag: "Result",
              round: message.round,
              phase: outcome.phase,
              samples: outcome.samples,
              metrics: outcome.phase === "training" ? { ...outcome.metrics } : {},
              vector: outcome.vector
            })
            return true
          }
          case "Ping":
            yield* channel.send({ _tag: "Pong", payload: message.payload })
            return true
          case "Shutdown":
            return false
          default:
            return yield* unexpected(message)
        }
      })
    ),
    Stream.takeWhile((goOn) => goOn),
    Stream.runDrain
  )

/**
 * The whole life of a trainer: preflight, `Ready`, then {@link serve}. Failures are returned; {@link reportTo} tells
 * the bridge about them.
 *
 * @since 0.1.0
 */
export const run = (
  channel: Channel
): Effect.Effect<void, TrainerFailure, DalClient.DalClient | FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const data = yield* preflight
    yield* channel.send({
      _tag: "Ready",
      functionName: FUNCTION_NAME,
      datasets: data.datasets,
      samples: data.samples.count
    })
    yield* Effect.logInfo(`ready: ${data.samples.count} rows from ${data.datasets} dataset(s)`)
    yield* serve(data, channel)
    yield* Effect.logInfo("shutting down")
  }).pipe(
    Effect.scoped,
    Effect.catchAllDefect((defect) => Effect.fail(fromDefect(defect, "trainer")))
  )

/**
 * Logs a failure and sends it to the bridge as a `Failed` message (best effort: the bridge may be gone).
 *
 * @since 0.1.0
 */
export const reportTo = (channel: Channel) =>
<A, R>(
  effect: Effect.Effect<A, TrainerFailure, R>
): Effect.Effect<A, TrainerFailure, R> =>
  Effect.tapError(effect, (failure) =>
    Effect.zipRight(
      Effect.logError(failure.message),
      channel.send({ _tag: "Failed", failure: { type: failure.type, place: failure.place, reason: failure.reason } })
        .pipe(Effect.ignore)
    ))
