/**
 * Progress of a download, reported as snapshots through the `onProgress` callback of the download operations, and a
 * renderer for terminals and logs (what the CLI shows on stderr).
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"

/**
 * Where a download stands. Sizes become known as each file's response (or re-run check) arrives.
 *
 * @since 0.1.0
 */
export interface ProgressEvent {
  readonly datasetId: string | undefined
  readonly key: string
  readonly filesTotal: number
  /** Files finished, including skipped ones. */
  readonly filesDone: number
  readonly filesSkipped: number
  /** Bytes of the dataset on disk, including skipped files and resumed prefixes. */
  readonly bytesDone: number
  /** Sum of the sizes known so far; equals the dataset size once `sizesKnown === filesTotal`. */
  readonly bytesTotal: number
  readonly sizesKnown: number
}

/**
 * @since 0.1.0
 */
export type OnProgress = (event: ProgressEvent) => Effect.Effect<void>

const units = ["B", "KiB", "MiB", "GiB", "TiB"] as const

/**
 * `1536` → `1.5 KiB`.
 *
 * @since 0.1.0
 */
export const formatBytes = (bytes: number): string => {
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`
}

/**
 * One line describing a snapshot; `rate` in bytes per second.
 *
 * @since 0.1.0
 */
export const formatLine = (event: ProgressEvent, rate: number | undefined): string => {
  const sizes = event.sizesKnown === event.filesTotal
  const pct = sizes && event.bytesTotal > 0 ? ` ${Math.floor((event.bytesDone / event.bytesTotal) * 100)}%` : ""
  const total = sizes ? formatBytes(event.bytesTotal) : `${formatBytes(event.bytesTotal)}+`
  const speed = rate === undefined ? "" : `, ${formatBytes(Math.round(rate))}/s`
  const skipped = event.filesSkipped > 0 ? ` (${event.filesSkipped} skipped)` : ""
  return `${event.filesDone}/${event.filesTotal} files${skipped}, ${
    formatBytes(event.bytesDone)
  }/${total}${pct}${speed}`
}

const bar = (event: ProgressEvent, width: number): string => {
  const fraction = event.sizesKnown === event.filesTotal && event.bytesTotal > 0
    ? event.bytesDone / event.bytesTotal
    : event.filesTotal > 0
    ? event.filesDone / event.filesTotal
    : 0
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)))
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`
}

/**
 * @since 0.1.0
 */
export interface RendererOptions {
  /** A terminal gets a bar redrawn in place; anything else gets a plain line every `interval`. */
  readonly isTTY: boolean
  readonly write: (text: string) => void
  readonly interval?: Duration.DurationInput | undefined
}

/**
 * Starts rendering in the current scope: feed it the download's snapshots through `onProgress`, and call `finish`
 * for the closing line. Rendering is throttled, so feeding every chunk is cheap.
 *
 * @since 0.1.0
 */
export const renderer = (
  options: RendererOptions
): Effect.Effect<{ readonly onProgress: OnProgress; readonly finish: Effect.Effect<void> }, never, Scope.Scope> =>
  Effect.gen(function*() {
    const latest = yield* Ref.make<ProgressEvent | undefined>(undefined)
    const started = yield* Clock.currentTimeMillis
    const draw = (final: boolean) =>
      Effect.flatMap(Effect.zip(Ref.get(latest), Clock.currentTimeMillis), ([event, now]) =>
        Effect.sync(() => {
          if (event === undefined) return
          const seconds = (now - started) / 1000
          const rate = seconds > 0.5 ? event.bytesDone / seconds : undefined
          const text = formatLine(event, rate)
          if (options.isTTY) options.write(`\r${bar(event, 24)} ${text}\x1b[K${final ? "\n" : ""}`)
          else options.write(`progress: ${text}\n`)
        }))
    const interval = options.interval ?? (options.isTTY ? "100 millis" : "5 seconds")
    // the first draw after one interval, then one every interval (a delay inside the repeat would double it)
    yield* draw(false).pipe(
      Effect.repeat(Schedule.spaced(Duration.decode(interval))),
      Effect.delay(interval),
      Effect.forkScoped
    )
    return {
      onProgress: (event) => Ref.set(latest, event),
      finish: draw(true)
    }
  })
