import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import * as FileSink from "../src/internal/fileSink.js"
import { bytes, tempDir } from "./support/index.js"

/** Feeds `data` in pieces of the given sizes, pausing whenever the sink asks, as a socket would. */
const feed = (sink: FileSink.FileSink, data: Uint8Array, sizes: ReadonlyArray<number>, ready: () => Promise<void>) =>
  Effect.promise(async () => {
    let at = 0
    for (let i = 0; at < data.length; i++) {
      const size = Math.max(1, sizes[i % Math.max(1, sizes.length)] ?? data.length)
      const piece = data.subarray(at, at + size)
      at += piece.length
      // the bytes arrive at an offset in a larger buffer, as a body's chunks from a shared read buffer do
      const read = Buffer.concat([Buffer.from("xx"), piece])
      const goOn = sink.write(read, 2, read.length)
      if (!goOn) await ready()
    }
    return sink.close()
  })

const open = (path: string, flags: "a" | "w", modified?: number) => {
  let wake = () => {}
  const sink = FileSink.open(path, flags, modified, () => wake(), () => {})
  const ready = () => new Promise<void>((resolve) => void (wake = resolve))
  return { sink, ready }
}

describe("FileSink", () => {
  it.effect.prop(
    "the file holds exactly the bytes fed, however they are cut, and the count says so",
    [Schema.Array(Schema.Int.pipe(Schema.between(1, 700_000))).pipe(Schema.minItems(1), Schema.maxItems(8))],
    ([sizes]) =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const data = bytes(3 * 1024 * 1024 + 11, sizes.length)
        const path = NodePath.join(dir, "out.bin")
        const { ready, sink } = open(path, "w")
        const written = yield* feed(sink, data, sizes, ready)
        assert.strictEqual(written, data.length)
        assert.isTrue(Buffer.from(data).equals(yield* Effect.promise(() => Fs.readFile(path))))
      }).pipe(Effect.scoped),
    { fastCheck: { numRuns: 12 } }
  )

  it.scoped("appends after what is there (a resume), and stamps the DAL's date as it closes", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = NodePath.join(dir, "partial.bin")
      yield* Effect.promise(() => Fs.writeFile(path, "first part, "))
      const modified = Date.parse("Tue, 01 Dec 2026 10:00:00 GMT")
      const { ready, sink } = open(path, "a", modified)
      yield* feed(sink, Buffer.from("then the rest"), [5], ready)
      assert.strictEqual(yield* Effect.promise(() => Fs.readFile(path, "utf8")), "first part, then the rest")
      assert.strictEqual((yield* Effect.promise(() => Fs.stat(path))).mtimeMs, modified)
    }))

  it.scoped("never writes through a symlink at the path", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const outside = NodePath.join(dir, "outside.txt")
      const path = NodePath.join(dir, "planted")
      yield* Effect.promise(async () => {
        await Fs.writeFile(outside, "untouched")
        await Fs.symlink(outside, path)
      })
      let failed: Error | undefined
      const sink = FileSink.open(path, "w", undefined, () => {}, (cause) => void (failed = cause))
      sink.write(Buffer.from("payload"), 0, 7)
      const error = yield* Effect.promise(() => sink.close().then(() => undefined, (e: NodeJS.ErrnoException) => e))
      assert.strictEqual(error?.code, "ELOOP")
      assert.strictEqual(failed, error)
      assert.strictEqual(yield* Effect.promise(() => Fs.readFile(outside, "utf8")), "untouched")
    }))
})
