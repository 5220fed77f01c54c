import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Progress from "../src/Progress.js"

const event = (bytesDone: number): Progress.ProgressEvent => ({
  datasetId: "ds",
  key: "s3://bkt/ds/",
  filesTotal: 4,
  filesDone: bytesDone === 4096 ? 4 : 1,
  filesSkipped: 1,
  bytesDone,
  bytesTotal: 4096,
  sizesKnown: 4
})

describe("Progress", () => {
  it("formats bytes and lines", () => {
    assert.strictEqual(Progress.formatBytes(512), "512 B")
    assert.strictEqual(Progress.formatBytes(1536), "1.5 KiB")
    assert.strictEqual(Progress.formatBytes(3 * 1024 ** 3), "3.0 GiB")
    assert.strictEqual(Progress.formatLine(event(1024), 2048), "1/4 files (1 skipped), 1.0 KiB/4.0 KiB 25%, 2.0 KiB/s")
    assert.strictEqual(
      Progress.formatLine({ ...event(1024), sizesKnown: 2 }, undefined),
      "1/4 files (1 skipped), 1.0 KiB/4.0 KiB+"
    )
  })

  it.scopedLive("redraws one line on a terminal and ends it", () =>
    Effect.gen(function*() {
      const out: Array<string> = []
      const render = yield* Progress.renderer({ isTTY: true, write: (s) => void out.push(s), interval: "5 millis" })
      yield* render.onProgress(event(1024))
      yield* Effect.sleep("40 millis")
      yield* render.onProgress(event(4096))
      yield* render.finish
      assert.isAbove(out.length, 1)
      assert.isTrue(out.every((s) => s.startsWith("\r[")))
      assert.match(out[0]!, /^\r\[######\.{18}\] 1\/4 files/)
      assert.match(out[out.length - 1]!, /^\r\[#{24}\] 4\/4 files \(1 skipped\), 4\.0 KiB\/4\.0 KiB 100%.*\x1b\[K\n$/)
    }))

  it.scopedLive("prints plain periodic lines elsewhere", () =>
    Effect.gen(function*() {
      const out: Array<string> = []
      const render = yield* Progress.renderer({ isTTY: false, write: (s) => void out.push(s), interval: "5 millis" })
      yield* render.onProgress(event(4096))
      yield* Effect.sleep("30 millis")
      yield* render.finish
      assert.isAbove(out.length, 1)
      assert.isTrue(out.every((s) => /^progress: 4\/4 files \(1 skipped\), 4\.0 KiB\/4\.0 KiB 100%.*\n$/.test(s)))
    }))
})
