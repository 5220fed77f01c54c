import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import * as ZipExtract from "../src/ZipExtract.js"
import {
  bytes,
  filesBelow,
  makeClient,
  makeZip,
  readText,
  startServer,
  tempDir,
  type ZipEntry
} from "./support/index.js"

const writeZip = (dir: string, entries: ReadonlyArray<ZipEntry>) =>
  Effect.promise(async () => {
    const path = NodePath.join(dir, "archive.zip")
    await Fs.writeFile(path, makeZip(entries))
    return path
  })

const extract = (archive: string, into: string, limits?: Partial<ZipExtract.Limits>) =>
  ZipExtract.extract(archive, into, { limits, datasetId: "zipped" })

describe("ZipExtract", () => {
  it.scopedLive("extracts nested entries and replaces an earlier extraction", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const archive = yield* writeZip(dir, [
        { name: "data/", data: new Uint8Array() },
        { name: "data/train.csv", data: Buffer.from("a,b\n1,2\n") },
        { name: "data/ünï code/img.bin", data: bytes(50_000), method: 0 },
        { name: "README", data: Buffer.from("hi") }
      ])
      const into = NodePath.join(dir, "out")
      yield* Effect.promise(() => Fs.mkdir(into).then(() => Fs.writeFile(NodePath.join(into, "stale.txt"), "old")))
      const result = yield* extract(archive, into)
      assert.deepStrictEqual(result, { archive, into, entries: 4, bytes: 8 + 50_000 + 2 })
      assert.deepStrictEqual(yield* filesBelow(into), ["README", "data/train.csv", "data/ünï code/img.bin"])
      assert.strictEqual(yield* readText(NodePath.join(into, "data", "train.csv")), "a,b\n1,2\n")
      assert.deepStrictEqual(yield* filesBelow(dir), [
        "archive.zip",
        "out/README",
        "out/data/train.csv",
        "out/data/ünï code/img.bin"
      ])
    }))

  it.scopedLive("refuses entries that escape (zip-slip), leaving nothing behind", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["../evil.txt", "invalid relative path"],
        ["ok/../../evil.txt", "invalid relative path"],
        ["/etc/evil.txt", "absolute path"],
        ["C:/evil.txt", "absolute path"],
        ["a\\..\\evil.txt", "invalid characters in fileName"],
        ["a//evil.txt", "has an empty path segment"],
        ["./evil.txt", "contains a '.' segment"]
      ]
      for (const [name, reason] of cases) {
        const sandbox = yield* tempDir
        const archive = yield* writeZip(sandbox, [{ name: "fine.txt", data: Buffer.from("ok") }, {
          name,
          data: Buffer.from("evil")
        }])
        const error = yield* extract(archive, NodePath.join(sandbox, "deep", "out")).pipe(Effect.flip)
        assert.strictEqual(error._tag, "DalUnsafePath", name)
        assert.include(error.message, reason, name)
        assert.deepStrictEqual(yield* filesBelow(sandbox), ["archive.zip"], name)
      }
    }))

  it.scopedLive("stops zip bombs by ratio, total size and entry count, counting inflated bytes", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const zeros = new Uint8Array(20 * 1024 * 1024)
      const bomb = yield* writeZip(dir, [{ name: "zeros.bin", data: zeros }])
      assert.isBelow((yield* Effect.promise(() => Fs.stat(bomb))).size, 100_000, "20 MiB of zeros deflates to little")
      const ratio = yield* extract(bomb, NodePath.join(dir, "a")).pipe(Effect.flip)
      assert.strictEqual(ratio._tag, "DalIntegrityError")
      assert.include(ratio.message, "inflates more than 200 times its compressed size")

      const big = yield* writeZip(dir, [
        { name: "one.bin", data: bytes(600_000, 1) },
        { name: "two.bin", data: bytes(600_000, 2) }
      ])
      const total = yield* extract(big, NodePath.join(dir, "b"), { maxTotalBytes: 1_000_000 }).pipe(Effect.flip)
      assert.include(total.message, "inflates past the limit of 1000000 bytes in total")

      const many = yield* writeZip(dir, Array.from({ length: 6 }, (_, i) => ({ name: `f${i}`, data: bytes(10) })))
      const count = yield* extract(many, NodePath.join(dir, "c"), { maxEntries: 5 }).pipe(Effect.flip)
      assert.include(count.message, "the archive has 6 entries, more than the limit of 5")
      assert.deepStrictEqual((yield* filesBelow(dir)).filter((f) => !f.endsWith(".zip")), [])
    }))

  it.scopedLive("a header that understates the inflated size is caught", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const liar = yield* writeZip(dir, [{ name: "small.txt", data: bytes(300_000), declaredSize: 1_000 }])
      const error = yield* extract(liar, NodePath.join(dir, "out")).pipe(Effect.flip)
      assert.strictEqual(error._tag, "DalIntegrityError")
      assert.include(error.message, "an entry's size does not match its header")
      assert.deepStrictEqual(yield* filesBelow(dir), ["archive.zip"])
    }))

  it.scopedLive("downloadDataset --extract unpacks a zip dataset beside it, once", () =>
    Effect.gen(function*() {
      const zip = makeZip([{ name: "Dataset004/imagesTr/a.nii.gz", data: bytes(5_000) }, {
        name: "Dataset004/dataset.json",
        data: Buffer.from("{}")
      }])
      const server = yield* startServer({ files: { "s3://bkt/zips/hippocampus.zip": zip } })
      const client = yield* makeClient(server.url, { zipped: "s3://bkt/zips/hippocampus.zip" })
      const dest = yield* tempDir
      const first = yield* client.downloadDataset("zipped", dest, { extract: true })
      assert.deepStrictEqual(first.extracted.map((x) => x.into), [NodePath.join(dest, "hippocampus")])
      assert.deepStrictEqual(yield* filesBelow(NodePath.join(dest, "hippocampus")), [
        "Dataset004/dataset.json",
        "Dataset004/imagesTr/a.nii.gz"
      ])
      const second = yield* client.downloadDataset("zipped", dest, { extract: true })
      assert.strictEqual(second.skipped, 1)
      assert.deepStrictEqual(second.extracted, [], "an unchanged archive is not extracted again")
    }))
})
