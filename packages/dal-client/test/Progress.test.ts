import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
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

  it.scoped("redraws one line on a terminal every interval, with the rate, and ends it", () =>
    Effect.gen(function*() {
      const out: Array<string> = []
      const render = yield* Progress.renderer({ isTTY: true, write: (s) => void out.push(s), interval: "100 millis" })
      yield* render.onProgress(event(1024))
      for (let tick = 0; tick < 10; tick++) yield* TestClock.adjust("100 millis")
      yield* render.onProgress(event(4096))
      for (let tick = 0; tick < 10; tick++) yield* TestClock.adjust("100 millis")
      yield* render.finish
      // a draw every 100 ms for 2 s, then the final one
      assert.strictEqual(out.length, 21)
      assert.isTrue(out.every((s) => s.startsWith("\r[")))
      assert.match(out[0]!, /^\r\[######\.{18}\] 1\/4 files \(1 skipped\), 1\.0 KiB\/4\.0 KiB 25%\x1b\[K$/)
      assert.match(out[9]!, /25%, 1\.0 KiB\/s\x1b\[K$/)
      assert.strictEqual(
        out[20],
        "\r[########################] 4/4 files (1 skipped), 4.0 KiB/4.0 KiB 100%, 2.0 KiB/s\x1b[K\n"
      )
    }))

  it.scoped("prints a plain line every 5 seconds elsewhere", () =>
    Effect.gen(function*() {
      const out: Array<string> = []
      const render = yield* Progress.renderer({ isTTY: false, write: (s) => void out.push(s) })
      yield* render.onProgress(event(4096))
      for (let tick = 0; tick < 3; tick++) yield* TestClock.adjust("4 seconds")
      yield* render.finish
      assert.deepStrictEqual(out, [
        "progress: 4/4 files (1 skipped), 4.0 KiB/4.0 KiB 100%, 819 B/s\n",
        "progress: 4/4 files (1 skipped), 4.0 KiB/4.0 KiB 100%, 410 B/s\n",
        "progress: 4/4 files (1 skipped), 4.0 KiB/4.0 KiB 100%, 341 B/s\n"
      ])
    }))
})
