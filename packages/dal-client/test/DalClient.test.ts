import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import * as AssetPolicy from "../src/AssetPolicy.js"
import * as DalClient from "../src/DalClient.js"
import * as DalSettings from "../src/DalSettings.js"
import type { ProgressEvent } from "../src/Progress.js"
import { bytes, filesBelow, makeClient, readText, startServer, tempDir, TOKEN } from "./support/index.js"

const files = {
  "s3://bkt/ds/a.txt": "alpha",
  "s3://bkt/ds/sub dir/b #1?.bin": bytes(70_000, 7),
  "s3://bkt/ds/sub dir/deeper/c%20d.txt": "percent",
  "s3://bkt/ds/ünï/日本.txt": "unicode",
  "s3://bkt/ds/empty/": "",
  "s3://bkt/other/x.txt": "not in the dataset",
  "s3://bkt/single/model weights.bin": bytes(123_457, 3)
}
const data = { ds: "s3://bkt/ds/", single: "s3://bkt/single/model weights.bin" }
const datasetFiles = ["a.txt", "empty", "sub dir/b #1?.bin", "sub dir/deeper/c%20d.txt", "ünï/日本.txt"]

describe("DalClient against dal-server", () => {
  it.scopedLive("lists a directory dataset across pages in both listing shapes, special names included", () =>
    Effect.gen(function*() {
      // The official client's shape (dal-server's default): file keys only, a bare `Link` suffix.
      const plain = yield* startServer({ files, pageSize: 2 })
      const fileKeys = [
        "s3://bkt/ds/a.txt",
        "s3://bkt/ds/sub dir/b #1?.bin",
        "s3://bkt/ds/sub dir/deeper/c%20d.txt",
        "s3://bkt/ds/ünï/日本.txt"
      ]
      const listed = yield* (yield* makeClient(plain.url, data)).list("s3://bkt/ds/", { datasetId: "ds" })
      assert.strictEqual(listed.size, fileKeys.length)
      assert.deepStrictEqual([...listed].map((e) => e.key), fileKeys)
      assert.deepStrictEqual([...listed][2]?.segments, ["sub dir", "deeper", "c%20d.txt"])
      const plainPages = (yield* plain.requests).filter((r) => r.key === "s3://bkt/ds/")
      assert.strictEqual(plainPages.length, 2, "4 keys at 2 per page")

      // The tutorial's shape: folder entries too, RFC 8288 links.
      const server = yield* startServer({ files, pageSize: 2, folderEntries: true, pageLinks: "rfc8288" })
      const client = yield* makeClient(server.url, data)
      const entries = yield* client.list("s3://bkt/ds/", { datasetId: "ds" })
      assert.deepStrictEqual([...entries].map((e) => e.key), [
        "s3://bkt/ds/a.txt",
        "s3://bkt/ds/empty/",
        "s3://bkt/ds/sub dir/",
        "s3://bkt/ds/sub dir/b #1?.bin",
        "s3://bkt/ds/sub dir/deeper/",
        "s3://bkt/ds/sub dir/deeper/c%20d.txt",
        "s3://bkt/ds/ünï/",
        "s3://bkt/ds/ünï/日本.txt"
      ])
      const pages = (yield* server.requests).filter((r) => r.key === "s3://bkt/ds/")
      assert.strictEqual(pages.length, 4, "8 keys at 2 per page")
      assert.strictEqual(pages.filter((r) => r.cursor !== undefined).length, 3)
      assert.isTrue(pages.every((r) => r.grant === "gateway" && r.status === 200))
    }))

  it.scopedLive("downloads a directory dataset, then skips it on a re-run, then fetches what changed", () =>
    Effect.gen(function*() {
      const server = yield* startServer({ files, pageSize: 3, folderEntries: true })
      const client = yield* makeClient(server.url, data, { maxWorkers: 3 })
      const dest = NodePath.join(yield* tempDir, "out")
      const first = yield* client.downloadDataset("ds", dest)
      assert.strictEqual(first.downloaded, 4)
      assert.strictEqual(first.bytes, 5 + 70_000 + 7 + 7)
      assert.deepStrictEqual(yield* filesBelow(dest), [
        ...datasetFiles.filter((f) => f !== "empty")
      ])
      assert.isTrue((yield* Effect.promise(() => Fs.stat(NodePath.join(dest, "empty")))).isDirectory())
      assert.strictEqual(yield* readText(NodePath.join(dest, "ünï", "日本.txt")), "unicode")
      assert.deepStrictEqual(
        new Uint8Array(yield* Effect.promise(() => Fs.readFile(NodePath.join(dest, "sub dir", "b #1?.bin")))),
        bytes(70_000, 7)
      )

      const before = (yield* server.requests).length
      const second = yield* client.downloadDataset("ds", dest)
      assert.strictEqual(second.skipped, 4)
      assert.strictEqual(second.downloaded, 0)
      const rerun = (yield* server.requests).slice(before)
      assert.deepStrictEqual(
        rerun.filter((r) => !r.key?.endsWith("/")).map((r) => r.method),
        ["HEAD", "HEAD", "HEAD", "HEAD"],
        "a re-run only asks for sizes and dates"
      )

      // Same size, new content, a later Last-Modified: the file is fetched again.
      const changed = NodePath.join(server.root, "bkt", "ds", "a.txt")
      yield* Effect.promise(async () => {
        await Fs.writeFile(changed, "ALPHA")
        const later = new Date(Date.now() + 5_000)
        await Fs.utimes(changed, later, later)
      })
      const third = yield* client.downloadDataset("ds", dest)
      assert.deepStrictEqual([...third.files].find((f) => f.key === "s3://bkt/ds/a.txt")?.status, "downloaded")
      assert.strictEqual(third.skipped, 3)
      assert.strictEqual(yield* readText(NodePath.join(dest, "a.txt")), "ALPHA")
    }))

  it.scopedLive("single files: a dataset lands at dest/<name>, downloadFile at a chosen path, stream in memory", () =>
    Effect.gen(function*() {
      const server = yield* startServer({ files })
      const client = yield* makeClient(server.url, data)
      const dir = yield* tempDir
      const result = yield* client.downloadDataset("single", dir)
      assert.isFalse(result.directory)
      assert.deepStrictEqual([...result.files].map((f) => f.path), [NodePath.join(dir, "model weights.bin")])
      const chosen = NodePath.join(dir, "nested", "copy.bin")
      const one = yield* client.downloadFile("s3://bkt/ds/sub dir/b #1?.bin", chosen)
      assert.deepStrictEqual(one, {
        key: "s3://bkt/ds/sub dir/b #1?.bin",
        path: chosen,
        bytes: 70_000,
        status: "downloaded"
      })
      const streamed = yield* client.stream("s3://bkt/single/model weights.bin").pipe(Stream.runCollect)
      assert.deepStrictEqual(new Uint8Array(Buffer.concat(Chunk.toArray(streamed))), bytes(123_457, 3))
    }))

  it.scopedLive("reports progress: files and bytes done against totals", () =>
    Effect.gen(function*() {
      const server = yield* startServer({ files })
      const client = yield* makeClient(server.url, data)
      const events: Array<ProgressEvent> = []
      yield* client.downloadDataset("ds", yield* tempDir, {
        onProgress: (event) => Effect.sync(() => void events.push(event))
      })
      const last = events[events.length - 1]
      assert.deepStrictEqual(last, {
        datasetId: "ds",
        key: "s3://bkt/ds/",
        filesTotal: 4,
        filesDone: 4,
        filesSkipped: 0,
        bytesDone: 70_019,
        bytesTotal: 70_019,
        sizesKnown: 4
      })
      for (let i = 1; i < events.length; i++) {
        assert.isAtLeast(events[i]!.filesDone, events[i - 1]!.filesDone)
      }
    }))

  it.scopedLive("reads the asset policy and answers mayRun", () =>
    Effect.gen(function*() {
      const server = yield* startServer({
        files,
        policies: {
          "s3://bkt/ds/": {
            permissions: { explore: true, restrict_functions: true, allowed_function_names: ["max_column"] },
            privacy: {},
            extra: { kept: true }
          }
        }
      })
      const client = yield* makeClient(server.url, data)
      const policy = yield* client.policy("ds")
      assert.isTrue(AssetPolicy.mayRun(policy, "max_column"))
      assert.isFalse(AssetPolicy.mayRun(policy, "rm_rf"))
      assert.deepStrictEqual(policy["extra"], { kept: true })
      const missing = yield* client.policy("single").pipe(Effect.flip)
      assert.strictEqual(missing._tag, "DalNotFound")
    }))

  it.scopedLive("uploads derived-dataset files from memory and from disk", () =>
    Effect.gen(function*() {
      const server = yield* startServer({ files })
      const client = yield* makeClient(server.url, data)
      const local = NodePath.join(yield* tempDir, "metrics.csv")
      yield* Effect.promise(() => Fs.writeFile(local, "epoch,loss\n1,0.5\n"))
      assert.deepStrictEqual(yield* client.putDerived("results_1", "weights.bin", bytes(4096)), {
        name: "results_1",
        file: "weights.bin",
        bytes: 4096
      })
      yield* client.putDerived("results_1", "logs/metrics.csv", { path: local })
      assert.strictEqual(
        yield* readText(NodePath.join(server.root, "derived", "results_1", "logs", "metrics.csv")),
        "epoch,loss\n1,0.5\n"
      )
      const bad = yield* client.putDerived("a/b", "x", bytes(1)).pipe(Effect.flip)
      assert.strictEqual(bad._tag, "DalInvalidArgument")
      const escape = yield* client.putDerived("ok", "../x", bytes(1)).pipe(Effect.flip)
      assert.strictEqual(escape.message, "upload of dataset \"ok\", key \"../x\": invalid file name: contains '..'")
    }))

  it.scopedLive("fails with typed, one-line errors that never show the token", () =>
    Effect.gen(function*() {
      const server = yield* startServer({
        files,
        tokens: [
          { name: "gateway", token: Redacted.make(TOKEN), prefixes: ["s3://bkt/other/"] }
        ]
      })
      const client = yield* makeClient(server.url, data)
      const forbidden = yield* client.downloadDataset("ds", yield* tempDir).pipe(Effect.flip)
      assert.strictEqual(forbidden._tag, "DalAuthError")
      assert.strictEqual(
        forbidden.message,
        "list of dataset \"ds\", key \"s3://bkt/ds/\": the token may not access this key (HTTP 403); check the dataset's permissions"
      )
      const wrong = yield* makeClient(server.url, data, { token: Redacted.make("not-the-token") })
      const unauthorized = yield* wrong.list("s3://bkt/other/").pipe(Effect.flip)
      assert.strictEqual(unauthorized._tag, "DalAuthError")
      assert.include(unauthorized.message, "HTTP 401")
      const unknown = yield* client.resolve("nope").pipe(Effect.flip)
      assert.strictEqual(unknown.message, "resolve of dataset \"nope\": not in APH_DATA (known: \"ds\", \"single\")")
      const missing = yield* client.downloadFile("s3://bkt/other/missing.txt", NodePath.join(yield* tempDir, "m"))
        .pipe(Effect.flip)
      assert.strictEqual(missing._tag, "DalNotFound")
      const notDir = yield* client.list("s3://bkt/other/x.txt").pipe(Effect.flip)
      assert.strictEqual(notDir._tag, "DalInvalidArgument")
      for (const error of [forbidden, unauthorized, unknown, missing, notDir]) {
        assert.notInclude(error.message, TOKEN)
        assert.notInclude(error.message, "\n")
        assert.notInclude(JSON.stringify(error), TOKEN)
      }
    }))

  it.scopedLive("resumes a partial file left by an interrupted run, with Range and If-Range", () =>
    Effect.gen(function*() {
      const big = bytes(3 * 1024 * 1024, 11)
      const server = yield* startServer({
        files: { "s3://bkt/big/blob.bin": big },
        faults: [{ method: "GET", key: "s3://bkt/big/", fault: { _tag: "ResetMidBody", afterBytes: 2_000_000 } }]
      })
      const dest = yield* tempDir
      // First run gives up at once: no retries, so the partial file stays behind like after a crash.
      const impatient = yield* makeClient(server.url, { big: "s3://bkt/big/blob.bin" }, { retries: 0 })
      const failed = yield* impatient.downloadDataset("big", dest).pipe(Effect.flip)
      assert.strictEqual(failed._tag, "DalTransportError")
      const partial = (yield* Effect.promise(() => Fs.stat(NodePath.join(dest, "blob.bin.fedkit-part")))).size
      assert.isAbove(partial, 0)
      assert.isAtMost(partial, 2_000_000)

      const client = yield* makeClient(server.url, { big: "s3://bkt/big/blob.bin" })
      const result = yield* client.downloadDataset("big", dest)
      assert.strictEqual(result.resumed, 1)
      const last = (yield* server.requests).filter((r) => r.method === "GET").at(-1)!
      assert.strictEqual(last.range, `bytes=${partial}-`)
      assert.strictEqual(last.status, 206)
      assert.match(last.ifRange ?? "", /^".+"$/)
      assert.deepStrictEqual(
        new Uint8Array(yield* Effect.promise(() => Fs.readFile(NodePath.join(dest, "blob.bin")))),
        big
      )
      assert.deepStrictEqual(yield* filesBelow(dest), ["blob.bin"])
    }))

  it.scopedLive("starts over when the partial copy is already whole (the rename was all that was missing)", () =>
    Effect.gen(function*() {
      const big = bytes(1_500_000, 5)
      const server = yield* startServer({ files: { "s3://bkt/big/blob.bin": big } })
      const client = yield* makeClient(server.url, { big: "s3://bkt/big/blob.bin" })
      const dest = yield* tempDir
      yield* client.downloadDataset("big", dest)
      // Put the finished file back under its temporary name, as if the process died just before renaming.
      yield* Effect.promise(() =>
        Fs.rename(NodePath.join(dest, "blob.bin"), NodePath.join(dest, "blob.bin.fedkit-part"))
      )
      // and as if the journal had recorded its ETag for a resume (a finished download leaves no journal)
      const etag = yield* Effect.promise(() =>
        fetch(`${server.url}datasets/s3://bkt/big/blob.bin`, {
          method: "HEAD",
          headers: { authorization: `Bearer ${TOKEN}` }
        }).then((r) => r.headers.get("etag")!)
      )
      const partialLine = JSON.stringify({ path: "blob.bin", key: "s3://bkt/big/blob.bin", state: "partial", etag })
      yield* Effect.promise(() => Fs.writeFile(NodePath.join(dest, ".fedkit-dal.jsonl"), partialLine + "\n"))
      const again = yield* client.downloadDataset("big", dest)
      assert.strictEqual(again.downloaded, 1)
      const gets = (yield* server.requests).filter((r) => r.method === "GET")
      assert.deepStrictEqual(gets.slice(-2).map((r) => r.status), [416, 200])
      assert.deepStrictEqual(
        new Uint8Array(yield* Effect.promise(() => Fs.readFile(NodePath.join(dest, "blob.bin")))),
        big
      )
    }))

  it.scopedLive("keeps at most `concurrency` files in flight", () =>
    Effect.gen(function*() {
      const many = Object.fromEntries(
        Array.from({ length: 8 }, (_, i) => [`s3://bkt/many/f${i}.bin`, bytes(1000, i + 1)])
      )
      // Every body pauses, so transfers overlap as much as the client lets them.
      const server = yield* startServer({
        files: many,
        faults: [{
          method: "GET",
          key: /f\d\.bin$/,
          times: Infinity,
          fault: { _tag: "StallBody", afterBytes: 1, millis: 150 }
        }]
      })
      const client = yield* makeClient(server.url, { many: "s3://bkt/many/" })
      const result = yield* client.downloadDataset("many", yield* tempDir, { concurrency: 3 })
      assert.strictEqual(result.downloaded, 8)
      const spans = (yield* server.requests)
        .filter((r) => r.method === "GET" && r.key !== "s3://bkt/many/")
        .map((r) => ({ end: Date.parse(r.time), start: Date.parse(r.time) - r.durationMillis }))
      // Transfers active at the middle of each one (a successor starting as one ends does not reach its middle).
      const inFlight = spans.map((a) => (a.start + a.end) / 2).map((t) =>
        spans.filter((b) => b.start < t && t < b.end).length
      )
      assert.strictEqual(Math.max(...inFlight), 3)
    }))
})

describe("DalClient.layerTest", () => {
  it.effect("answers with the operations given and dies naming any other", () =>
    Effect.gen(function*() {
      const settings = yield* DalSettings.make({
        url: "http://127.0.0.1:1/",
        token: Redacted.make(TOKEN),
        data: { ds: "s3://b/ds/" }
      })
      const policy: AssetPolicy.AssetPolicy = {
        permissions: { restrict_functions: true, allowed_function_names: ["train"] }
      }
      const test = DalClient.layerTest({ settings, policy: () => Effect.succeed(policy) })
      const dal = yield* DalClient.DalClient.pipe(Effect.provide(test))
      assert.strictEqual(yield* dal.policy("ds"), policy)
      const exit = yield* Effect.exit(dal.downloadDataset("ds", "/nowhere"))
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
      assert.include(Cause.pretty(Exit.isFailure(exit) ? exit.cause : Cause.empty), "downloadDataset")
    }))
})
