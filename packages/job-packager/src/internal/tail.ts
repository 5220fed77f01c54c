/**
 * Follows a growing log file (`tail -f`), handing each complete line to a callback. Runs until interrupted.
 */
import * as Effect from "effect/Effect"
import * as fs from "./files.js"

export const follow = (
  file: string,
  onLine: (line: string) => Effect.Effect<void>
): Effect.Effect<never> =>
  Effect.gen(function*() {
    const decoder = new TextDecoder()
    let offset = 0
    let partial = ""
    const poll = Effect.gen(function*() {
      const size = yield* fs.stat(file).pipe(Effect.map((info) => Number(info.size)), Effect.orElseSucceed(() => 0))
      if (size < offset) offset = 0
      if (size === offset) return
      const chunk = yield* fs.readRange(file, offset, size - offset).pipe(Effect.orElseSucceed(() => undefined))
      if (chunk === undefined || chunk.length === 0) return
      offset += chunk.length
      const lines = (partial + decoder.decode(chunk, { stream: true })).split("\n")
      partial = lines.pop() ?? ""
      for (const line of lines) yield* onLine(line.replace(/\r$/, ""))
    })
    return yield* Effect.forever(Effect.zipRight(poll, Effect.sleep("500 millis")))
  })
