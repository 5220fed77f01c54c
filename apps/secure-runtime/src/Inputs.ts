/**
 * The command line's inputs: the `dataset2gw` map (a file or inline JSON) and the payload (a file or standard
 * input), each read with a bound so that no input can exhaust memory.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Dataset2Gw, Rejection } from "@fedkit/runtime-core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { describeError } from "./internal/text.js"
import { classify, type PayloadRefused } from "./Refusal.js"

/**
 * A command-line value is unusable. CLI exit code 2.
 *
 * @since 0.1.0
 * @category errors
 */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  option: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `--${this.option}: ${this.reason}`
  }
}

/** A dataset map is a few hundred bytes; a megabyte is generous. */
const MAX_DATASET2GW_BYTES = 1024 * 1024

const parseJson = (text: string, what: string): Either.Either<unknown, UsageError> =>
  Either.try({
    try: () => JSON.parse(text) as unknown,
    catch: (error) =>
      new UsageError({ option: "dataset2gw", reason: `${what} is not JSON (${describeError(error, 120)})` })
  })

/**
 * Reads `--dataset2gw`: inline JSON when it starts with `{`, else the path of a JSON file. The map is checked:
 * dataset ids to FLARE site names.
 *
 * @since 0.1.0
 */
export const dataset2gw = (value: string): Effect.Effect<Dataset2Gw.Dataset2Gw, UsageError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const inline = value.trimStart().startsWith("{")
    let text = value
    if (!inline) {
      const info = yield* fs.stat(value).pipe(
        Effect.mapError(() => new UsageError({ option: "dataset2gw", reason: `${value} is neither JSON nor a file` }))
      )
      if (info.type !== "File" || Number(info.size) > MAX_DATASET2GW_BYTES) {
        return yield* new UsageError({
          option: "dataset2gw",
          reason: `${value} is not a regular file of at most ${MAX_DATASET2GW_BYTES} bytes`
        })
      }
      text = yield* fs.readFileString(value).pipe(
        Effect.mapError((error) => new UsageError({ option: "dataset2gw", reason: `${value}: ${error.message}` }))
      )
    }
    const json = yield* parseJson(text, inline ? "the value" : value)
    return yield* Dataset2Gw.decode(json).pipe(
      Either.mapLeft((invalid) => new UsageError({ option: "dataset2gw", reason: invalid.message }))
    )
  })

const tooLarge = (limit: number, actual: number): PayloadRefused =>
  classify(Rejection.PayloadTooLarge.fromSizes(limit, actual)) as PayloadRefused

/** Reads standard input, stopping one byte past `maxBytes` (enough to know it is too large). */
const readStdin = (maxBytes: number): Effect.Effect<Uint8Array, UsageError | PayloadRefused> =>
  Effect.async<Uint8Array, UsageError | PayloadRefused>((resume) => {
    const stdin = process.stdin
    const chunks: Array<Buffer> = []
    let size = 0
    const cleanup = () => {
      stdin.off("data", onData)
      stdin.off("end", onEnd)
      stdin.off("error", onError)
      stdin.pause()
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) {
        cleanup()
        stdin.destroy()
        resume(Effect.fail(tooLarge(maxBytes, size)))
      } else {
        chunks.push(chunk)
      }
    }
    const onEnd = () => {
      cleanup()
      resume(Effect.succeed(Buffer.concat(chunks, size)))
    }
    const onError = (error: Error) => {
      cleanup()
      resume(
        Effect.fail(new UsageError({ option: "payload", reason: `reading standard input failed: ${error.message}` }))
      )
    }
    stdin.on("data", onData)
    stdin.once("end", onEnd)
    stdin.once("error", onError)
    return Effect.sync(cleanup)
  })

/**
 * Reads `--payload`: a file, or `-` for standard input. A file larger than `maxBytes` is refused without reading it.
 *
 * @since 0.1.0
 */
export const payload = (
  value: string,
  maxBytes: number
): Effect.Effect<Uint8Array, UsageError | PayloadRefused, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    if (value === "-") return yield* readStdin(maxBytes)
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(value).pipe(
      Effect.mapError(() => new UsageError({ option: "payload", reason: `${value}: no such file` }))
    )
    if (info.type !== "File") return yield* new UsageError({ option: "payload", reason: `${value} is not a file` })
    if (Number(info.size) > maxBytes) return yield* tooLarge(maxBytes, Number(info.size))
    return yield* fs.readFile(value).pipe(
      Effect.mapError((error) => new UsageError({ option: "payload", reason: `${value}: ${error.message}` }))
    )
  })
