/**
 * Follows a growing log file (`tail -f`), handing each complete line to a callback. Runs until interrupted.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect } from "effect"

export const follow = (
  file: string,
  onLine: (line: string) => Effect.Effect<void>
): Effect.Effect<never, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const decoder = new TextDecoder()
    let offset = 0
    let partial = ""
    const poll = Effect.gen(function*() {
      const size = yield* fs.stat(file).pipe(Effect.map((info) => Number(info.size)), Effect.orElseSucceed(() => 0))
      if (size < offset) offset = 0
      if (size === offset) return
      const chunk = yield* Effect.scoped(
        Effect.gen(function*() {
          const handle = yield* fs.open(file, { flag: "r" })
          yield* handle.seek(offset, "start")
          return yield* handle.readAlloc(size - offset)
        })
      ).pipe(Effect.orElseSucceed(() => undefined))
      if (chunk === undefined || chunk._tag === "None") return
      offset += chunk.value.length
      const lines = (partial + decoder.decode(chunk.value, { stream: true })).split("\n")
      partial = lines.pop() ?? ""
      for (const line of lines) yield* onLine(line.replace(/\r$/, ""))
    })
    return yield* Effect.forever(Effect.zipRight(poll, Effect.sleep("500 millis")))
  })
