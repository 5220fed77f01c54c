import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import { cliDir } from "./support/globalSetup.js"
import {
  bytes,
  filesBelow,
  hostileServer,
  makeClient,
  readText,
  sendJson,
  startServer,
  tempDir,
  TOKEN
} from "./support/index.js"

const count = 300
const names = Array.from({ length: count }, (_, i) => `f${String(i).padStart(3, "0")}.bin`)
const files = Object.fromEntries(names.map((name, i) => [`s3://bkt/many/${name}`, bytes(4096, i + 1)]))

describe("resume state and leftovers", () => {
  it.scopedLive(
    "after kill -9, a re-run fetches only what was incomplete, and leaves exactly the dataset's files",
    () =>
      Effect.gen(function*() {
        // each answer takes 10 ms, as from a DAL in front of object storage: the kill lands mid-download
        const server = yield* startServer({ files, latencyMillis: 10 })
        const dest = NodePath.join(yield* tempDir, "out")
        const complete = () =>
          Fs.readdir(dest).then((found) => found.filter((n) => names.includes(n)), () => [] as Array<string>)
        const landed = yield* Effect.async<ReadonlyArray<string>>((resume) => {
          const child = spawn(process.execPath, [NodePath.join(cliDir, "bin.js"), "download", "many", dest], {
            env: {
              PATH: process.env["PATH"] ?? "",
              APH_API_DAL_URL: server.url,
              APH_DAL_TOKEN: TOKEN,
              APH_DATA: JSON.stringify({ many: "s3://bkt/many/" }),
              APH_MAX_WORKERS: "4"
            },
            stdio: "ignore"
          })
          const poll = setInterval(() =>
            void complete().then((done) => {
              if (done.length < 60) return
              clearInterval(poll)
              child.kill("SIGKILL")
              child.once("exit", () => void complete().then((after) => resume(Effect.succeed(after))))
            }), 10)
          return Effect.sync(() => {
            clearInterval(poll)
            child.kill("SIGKILL")
          })
        })
        assert.isBelow(landed.length, count, "the kill came before the end")
        for (const name of landed) {
          const size = (yield* Effect.promise(() => Fs.stat(NodePath.join(dest, name)))).size
          assert.strictEqual(size, 4096, `${name} at its final path is whole`)
        }

        const before = (yield* server.requests).length
        const client = yield* makeClient(server.url, { many: "s3://bkt/many/" })
        const result = yield* client.downloadDataset("many", dest)
        assert.strictEqual(result.skipped, landed.length)
        assert.strictEqual(result.downloaded + result.resumed, count - landed.length)
        const rerun = (yield* server.requests).slice(before).filter((r) => r.key !== "s3://bkt/many/")
        assert.strictEqual(rerun.filter((r) => r.method === "GET").length, count - landed.length)
        assert.deepStrictEqual(yield* filesBelow(dest), names)
        for (const [i, name] of names.entries()) {
          const got = new Uint8Array(yield* Effect.promise(() => Fs.readFile(NodePath.join(dest, name))))
          assert.deepStrictEqual(got, bytes(4096, i + 1), name)
        }
      }),
    30_000
  )

  it.scopedLive(
    "the journal records a complete file only when no Last-Modified stamps it or it had a resume record",
    () =>
      Effect.gen(function*() {
        const stamp = "Tue, 01 Dec 2026 10:00:00 GMT"
        const big = bytes(1024 * 1024 + 7, 3)
        const files: Record<string, { readonly body: Uint8Array; readonly headers: Record<string, string> }> = {
          // strong ETag and over 1 MiB: a resume record first, so its complete line must replace it
          "a-recorded.bin": { body: big, headers: { etag: "\"rec\"", "last-modified": stamp } },
          // stamped: complete by its size and date alone, no journal line needed
          "b-stamped.bin": { body: bytes(4096, 4), headers: { etag: "\"stamped\"", "last-modified": stamp } },
          // not stamped: only the journal can tell a re-run that it is this ETag's whole file
          "c-unstamped.bin": { body: bytes(4096, 5), headers: { etag: "\"unstamped\"" } }
        }
        let failLast = true
        const server = yield* hostileServer((req, res) => {
          if (req.url === "/datasets/s3://h/ds/") {
            return sendJson(res, [...Object.keys(files), "z-last.bin"].map((name) => `s3://h/ds/${name}`))
          }
          const name = req.url!.slice("/datasets/s3://h/ds/".length)
          if (name === "z-last.bin") {
            if (failLast) return void res.writeHead(400, { "content-length": "3" }).end("no!")
            return void res.writeHead(200, { "content-length": "1" }).end("z")
          }
          const file = files[name]!
          res.writeHead(200, { "content-length": String(file.body.length), ...file.headers })
          res.end(req.method === "HEAD" ? undefined : file.body)
        })
        const client = yield* makeClient(server.url, { ds: "s3://h/ds/" })
        const dest = yield* tempDir
        // one file at a time, in order: the last one fails after the others are complete, so the journal stays
        const error = yield* client.downloadDataset("ds", dest, { concurrency: 1 }).pipe(Effect.flip)
        assert.strictEqual(error._tag, "DalStatusError")
        const journal = (yield* readText(NodePath.join(dest, ".fedkit-dal.jsonl"))).trim().split("\n")
          .map((line) => JSON.parse(line) as { readonly path: string; readonly state: string })
          .map(({ path, state }) => `${path} ${state}`)
        assert.deepStrictEqual(journal, [
          "a-recorded.bin partial",
          "a-recorded.bin complete",
          "c-unstamped.bin complete"
        ])

        // the re-run knows all three as complete: two by their stamps, the unstamped one by its journal line
        failLast = false
        const before = server.requests.length
        const result = yield* client.downloadDataset("ds", dest)
        assert.strictEqual(result.skipped, 3)
        assert.strictEqual(result.downloaded, 1)
        const gets = server.requests.slice(before).filter((r) => r.method === "GET").map((r) => r.url)
        assert.deepStrictEqual(gets, ["/datasets/s3://h/ds/", "/datasets/s3://h/ds/z-last.bin"])
        assert.deepStrictEqual(yield* filesBelow(dest), [...Object.keys(files), "z-last.bin"])
      }),
    30_000
  )

  it.scopedLive("a name too long for a file system is refused before anything is written", () =>
    Effect.gen(function*() {
      const server = yield* hostileServer((req, res) => {
        if (req.url === "/datasets/s3://h/ds/") {
          return sendJson(res, ["s3://h/ds/ok.bin", `s3://h/ds/${"n".repeat(300)}.bin`])
        }
        res.writeHead(200, { "content-length": "1" }).end("x")
      })
      const client = yield* makeClient(server.url, { ds: "s3://h/ds/" })
      const sandbox = yield* tempDir
      const error = yield* client.downloadDataset("ds", NodePath.join(sandbox, "dest")).pipe(Effect.flip)
      assert.strictEqual(error._tag, "DalUnsafePath")
      assert.include(error.message, "has a name longer than 255 bytes")
      assert.deepStrictEqual(yield* filesBelow(sandbox), [])
      assert.deepStrictEqual(server.requests.map((r) => r.url), ["/datasets/s3://h/ds/"])
    }))

  it.scopedLive("a name that only fits without the temporary suffix is written through a shorter temporary name", () =>
    Effect.gen(function*() {
      const long = `${"n".repeat(250)}.bin`
      const server = yield* startServer({ files: { [`s3://bkt/ds/${long}`]: "long" } })
      const client = yield* makeClient(server.url, { ds: "s3://bkt/ds/" })
      const dest = yield* tempDir
      yield* client.downloadDataset("ds", dest)
      assert.deepStrictEqual(yield* filesBelow(dest), [long])
    }))

  it.scopedLive("when one file fails, the files in flight leave no temporary file behind", () =>
    Effect.gen(function*() {
      const server = yield* hostileServer((req, res) => {
        if (req.url === "/datasets/s3://h/ds/") return sendJson(res, ["s3://h/ds/bad.bin", "s3://h/ds/slow.bin"])
        if (req.url === "/datasets/s3://h/ds/bad.bin") {
          return void setTimeout(() => res.writeHead(400, { "content-length": "3" }).end("no!"), 150)
        }
        // half of the body at once, the rest never: the file is mid-transfer when the other one fails
        res.writeHead(200, { "content-length": "200000" })
        res.write(Buffer.alloc(100_000, 1))
      })
      const client = yield* makeClient(server.url, { ds: "s3://h/ds/" })
      const dest = yield* tempDir
      const error = yield* client.downloadDataset("ds", dest).pipe(Effect.flip)
      assert.strictEqual(error._tag, "DalStatusError")
      assert.deepStrictEqual(yield* filesBelow(dest), [])
    }))
})
