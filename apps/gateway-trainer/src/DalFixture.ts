/**
 * Puts the gateways' shards into a local DAL root folder (as served by `@fedkit/dal-server`: `ROOT/<bucket>/<path>`
 * is `s3://<bucket>/<path>`), in the two shapes a DAL dataset can take: a directory of CSV files, or one zip archive
 * of CSV files. Also gives each gateway's `APH_DATA` and the asset policies to serve.
 *
 * @since 0.1.0
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import { zipSync } from "fflate"
import * as CsvShard from "./CsvShard.js"
import * as Samples from "./Samples.js"
import type * as Split from "./Split.js"
import { FUNCTION_NAME } from "./Trainer.js"

/**
 * @since 0.1.0
 */
export type Layout = "directory" | "zip"

/**
 * @since 0.1.0
 */
export interface Gateway {
  readonly gateway: string
  readonly datasetId: string
  /** The DAL key: ends in `/` for a directory, `.zip` for an archive. */
  readonly key: string
  readonly layout: Layout
  readonly samples: number
  /** CSV files the dataset holds (inside the archive for a zip). */
  readonly files: number
}

/**
 * @since 0.1.0
 */
export interface Options {
  /** Per gateway, in shard order; default: directory, zip, directory. */
  readonly layouts?: ReadonlyArray<Layout>
  /** CSV files per gateway; default 3, 2, 2. */
  readonly files?: ReadonlyArray<number>
}

const defaultLayouts: ReadonlyArray<Layout> = ["directory", "zip", "directory"]
const defaultFiles: ReadonlyArray<number> = [3, 2, 2]

/** Splits rows into `files` contiguous parts (the last part takes the remainder). */
const parts = (samples: Samples.Samples, files: number): Array<Samples.Samples> => {
  const size = Math.ceil(samples.count / files)
  return Array.from({ length: files }, (_, i) => {
    const rows = Array.from(
      { length: Math.max(0, Math.min(samples.count, (i + 1) * size) - i * size) },
      (_, r) => i * size + r
    )
    return Samples.select(samples, rows)
  }).filter((part) => part.count > 0)
}

const bucketOf = (gateway: string) => `${gateway}-data`

const writeAtomic = (fs: FileSystem.FileSystem, file: string, bytes: Uint8Array) =>
  Effect.zipRight(fs.writeFile(`${file}.tmp`, bytes), fs.rename(`${file}.tmp`, file))

/**
 * Writes every shard below `root` and describes the result. A gateway's second file goes into a sub-folder, so the
 * datasets also exercise nested listings.
 *
 * @since 0.1.0
 */
export const write = (
  root: string,
  shards: ReadonlyArray<Split.Shard>,
  options: Options = {}
): Effect.Effect<ReadonlyArray<Gateway>, PlatformError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const encoder = new TextEncoder()
    return yield* Effect.forEach(shards, (shard, index) =>
      Effect.gen(function*() {
        const layout = options.layouts?.[index] ?? defaultLayouts[index % defaultLayouts.length]!
        const csvs = parts(shard.samples, options.files?.[index] ?? defaultFiles[index % defaultFiles.length]!)
          .map((part, i) => ({
            // Sorted paths keep the shard's row order (the trainer reads files in sorted order).
            name: i === 1 ? `part-${i + 1}/rows.csv` : `part-${i + 1}.csv`,
            bytes: encoder.encode(CsvShard.encode(part))
          }))
        const bucket = path.join(root, bucketOf(shard.gateway))
        const datasetId = `breast-cancer-wisconsin_${shard.gateway}_org-${index + 1}`
        if (layout === "zip") {
          yield* fs.makeDirectory(bucket, { recursive: true })
          const archive = zipSync(Object.fromEntries(csvs.map((csv) => [`breast-cancer/${csv.name}`, csv.bytes])))
          yield* writeAtomic(fs, path.join(bucket, "breast-cancer.zip"), archive)
        } else {
          for (const csv of csvs) {
            const file = path.join(bucket, "breast-cancer", csv.name)
            yield* fs.makeDirectory(path.dirname(file), { recursive: true })
            yield* writeAtomic(fs, file, csv.bytes)
          }
        }
        return {
          gateway: shard.gateway,
          datasetId,
          key: `s3://${bucketOf(shard.gateway)}/${layout === "zip" ? "breast-cancer.zip" : "breast-cancer/"}`,
          layout,
          samples: shard.samples.count,
          files: csvs.length
        }
      }))
  })

/**
 * The key prefix a gateway's token must be allowed to read: its dataset's folder (a zip's parent).
 *
 * @since 0.1.0
 */
export const prefix = (gateway: Gateway): string => gateway.key.slice(0, gateway.key.lastIndexOf("/") + 1)

/**
 * A gateway's `APH_DATA` value.
 *
 * @since 0.1.0
 */
export const aphData = (gateway: Gateway): string => JSON.stringify({ [gateway.datasetId]: gateway.key })

/**
 * Asset policies for `@fedkit/dal-server`: every dataset restricts functions; those in `allowed` (all by default)
 * allow this model's function, the others allow only an unrelated one.
 *
 * @since 0.1.0
 */
export const policies = (
  gateways: ReadonlyArray<Gateway>,
  allowed: (gateway: Gateway) => boolean = () => true
): Record<string, unknown> =>
  Object.fromEntries(gateways.map((gateway) => [gateway.key, {
    permissions: {
      explore: false,
      restrict_functions: true,
      allowed_function_names: allowed(gateway) ? [FUNCTION_NAME] : ["max_column"]
    },
    privacy: {}
  }]))
