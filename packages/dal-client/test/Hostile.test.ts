import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import { filesBelow, hostileServer, makeClient, sendJson, startServer, tempDir, TOKEN } from "./support/index.js"

const dir = "s3://h/ds/"
const data = { ds: dir }

/** A DAL whose listing of `s3://h/ds/` is `keys` and whose files all contain "x". */
const listing = (keys: ReadonlyArray<string>) =>
  hostileServer((req, res) => {
    if (req.url === "/datasets/s3://h/ds/") return sendJson(res, keys)
    res.writeHead(200, { "content-length": "1" })
    res.end("x")
  })

describe("listings a server should never send", () => {
  const escapes: ReadonlyArray<readonly [string, string]> = [
    ["s3://h/ds/../../etc/passwd", "contains a '.' or '..' segment"],
    ["s3://h/other/secret.txt", "is not below the requested directory \"s3://h/ds/\""],
    ["s3://h/ds//etc/passwd", "is an absolute path"],
    ["s3://h/ds/a//b.txt", "has an empty path segment"],
    ["s3://h/ds/a\\..\\..\\b.txt", "contains a backslash"],
    ["s3://h/ds/a\0.txt", "contains a NUL byte"],
    ["s3://h/ds/C:/x.txt", "starts with a drive letter"],
    ["s3://h/ds/.fedkit-dal.jsonl", "uses a file name reserved by fedkit-dal"]
  ]

  it.scopedLive("each escaping key fails the download before anything is written", () =>
    Effect.gen(function*() {
      for (const [bad, reason] of escapes) {
        const server = yield* listing(["s3://h/ds/fine.txt", bad])
        const client = yield* makeClient(server.url, data)
        const sandbox = yield* tempDir
        const dest = NodePath.join(sandbox, "dest")
        const error = yield* client.downloadDataset("ds", dest).pipe(Effect.flip)
        assert.strictEqual(error._tag, "DalUnsafePath", bad)
        assert.strictEqual(
          error.message,
          `list of dataset "ds", key "s3://h/ds/": refused ${
            JSON.stringify(bad)
          }: ${reason}; nothing was written outside the destination`
        )
        assert.notInclude(error.message, TOKEN)
        assert.deepStrictEqual(yield* filesBelow(sandbox), [], `nothing written for ${JSON.stringify(bad)}`)
        assert.deepStrictEqual(server.requests.map((r) => r.url), ["/datasets/s3://h/ds/"], "no file was fetched")
      }
    }))

  it.scopedLive("a key listed both as a file and as a folder is refused, whatever sorts between them", () =>
    Effect.gen(function*() {
      const clashes: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [["s3://h/ds/a", "s3://h/ds/a/b.txt"], "s3://h/ds/a"],
        [["s3://h/ds/x/a", "s3://h/ds/x/a/", "s3://h/ds/x/a/c"], "s3://h/ds/x/a"],
        // '.', '-' and ' ' sort between "a" and "a/": the file must still be found below.
        [
          ["s3://h/ds/x/a/deep/er.txt", "s3://h/ds/x/a.txt", "s3://h/ds/x/a-b/c", "s3://h/ds/x/a b", "s3://h/ds/x/a"],
          "s3://h/ds/x/a"
        ]
      ]
      for (const [keys, refused] of clashes) {
        const server = yield* listing(keys)
        const client = yield* makeClient(server.url, data)
        const sandbox = yield* tempDir
        const error = yield* client.downloadDataset("ds", NodePath.join(sandbox, "dest")).pipe(Effect.flip)
        assert.strictEqual(error._tag, "DalUnsafePath")
        assert.include(error.message, `refused ${JSON.stringify(refused)}: is listed both as a file and as a folder`)
        assert.deepStrictEqual(yield* filesBelow(sandbox), [])
      }
      const fine = yield* listing(["s3://h/ds/a.txt", "s3://h/ds/a/b.txt", "s3://h/ds/a-b", "s3://h/ds/a/b.txt"])
      const plan = yield* (yield* makeClient(fine.url, data)).planDataset("ds")
      assert.deepStrictEqual(plan, { datasetId: "ds", key: dir, directory: true, files: 3, folders: 0 })
    }))

  it.scopedLive("with extraction, an archive whose folder is a listed path (or holds one) is refused", () =>
    Effect.gen(function*() {
      const takers = [["s3://h/ds/data"], ["s3://h/ds/data/", "s3://h/ds/data/inner.csv"], ["s3://h/ds/data/inner.csv"]]
      for (const taken of takers) {
        const server = yield* listing(["s3://h/ds/data.ZIP", ...taken])
        const client = yield* makeClient(server.url, data)
        const error = yield* client.planDataset("ds", { extract: true }).pipe(Effect.flip)
        assert.strictEqual(error._tag, "DalUnsafePath", taken[0])
        assert.include(error.message, `refused "s3://h/ds/data.ZIP": extracting it would overwrite a listed path`)
        assert.strictEqual((yield* client.planDataset("ds")).files, 2)
      }
    }))

  it.scopedLive("does not follow a symlink in the destination out of it", () =>
    Effect.gen(function*() {
      const server = yield* startServer({
        files: { "s3://bkt/ds/link/payload.txt": "pwned", "s3://bkt/ds/ok.txt": "ok" }
      })
      const client = yield* makeClient(server.url, { ds: "s3://bkt/ds/" })
      const sandbox = yield* tempDir
      const outside = NodePath.join(sandbox, "outside")
      const dest = NodePath.join(sandbox, "dest")
      yield* Effect.promise(async () => {
        await Fs.mkdir(outside)
        await Fs.mkdir(dest)
        await Fs.symlink(outside, NodePath.join(dest, "link"))
      })
      const error = yield* client.downloadDataset("ds", dest).pipe(Effect.flip)
      assert.strictEqual(error._tag, "DalUnsafePath")
      assert.include(error.message, "is a symlink in the destination")
      assert.deepStrictEqual(yield* filesBelow(outside), [])
    }))

  it.scopedLive("follows bare and RFC 8288 Link forms, and descends into folders listed without children", () =>
    Effect.gen(function*() {
      const server = yield* hostileServer((req, res) => {
        switch (req.url) {
          case "/datasets/s3://h/ds/":
            // The official client's form: a bare suffix to `datasets/`.
            return sendJson(res, ["s3://h/ds/a.txt", "s3://h/ds/sub/"], { link: "s3://h/ds/?page=2" })
          case "/datasets/s3://h/ds/?page=2":
            // RFC 8288, relative to the request URL, among other relations.
            return sendJson(res, ["s3://h/ds/b.txt", "s3://h/ds/a.txt"], {
              link: "</datasets/s3://h/ds/?page=1>; rel=\"prev\", </datasets/s3://h/ds/?page=3>; rel=\"next\""
            })
          case "/datasets/s3://h/ds/?page=3":
            return sendJson(res, ["s3://h/ds/deep/", "s3://h/ds/deep/listed.txt"])
          case "/datasets/s3://h/ds/sub/":
            // S3-delimiter style: only direct children; "sub/inner/" has none listed yet.
            return sendJson(res, ["s3://h/ds/sub/c.txt", "s3://h/ds/sub/inner/"])
          case "/datasets/s3://h/ds/sub/inner/":
            return sendJson(res, ["s3://h/ds/sub/inner/d.txt", "s3://h/ds/sub/c.txt"])
          default:
            res.writeHead(404).end()
        }
      })
      const client = yield* makeClient(server.url, data)
      const entries = yield* client.list(dir)
      assert.deepStrictEqual([...entries].map((e) => e.key), [
        "s3://h/ds/a.txt",
        "s3://h/ds/b.txt",
        "s3://h/ds/deep/",
        "s3://h/ds/deep/listed.txt",
        "s3://h/ds/sub/",
        "s3://h/ds/sub/c.txt",
        "s3://h/ds/sub/inner/",
        "s3://h/ds/sub/inner/d.txt"
      ])
      assert.deepStrictEqual(server.requests.map((r) => r.url).sort(), [
        "/datasets/s3://h/ds/",
        "/datasets/s3://h/ds/?page=2",
        "/datasets/s3://h/ds/?page=3",
        "/datasets/s3://h/ds/sub/",
        "/datasets/s3://h/ds/sub/inner/"
      ])
      assert.isTrue(server.requests.every((r) => r.authorization === `Bearer ${TOKEN}`))
    }))

  it.scopedLive("never sends the token to a Link that leaves the DAL, and stops pagination loops", () =>
    Effect.gen(function*() {
      const elsewhere = yield* hostileServer((_req, res) => sendJson(res, []))
      const leaking = yield* hostileServer((_req, res) =>
        sendJson(res, ["s3://h/ds/a.txt"], { link: `<${elsewhere.url}datasets/s3://h/ds/?p=2>; rel="next"` })
      )
      const client = yield* makeClient(leaking.url, data)
      const error = yield* client.list(dir).pipe(Effect.flip)
      assert.strictEqual(error._tag, "DalIntegrityError")
      assert.include(error.message, "leaves the DAL base URL")
      assert.deepStrictEqual(elsewhere.requests, [])

      const looping = yield* hostileServer((_req, res) =>
        sendJson(res, ["s3://h/ds/a.txt"], { link: "</datasets/s3://h/ds/>; rel=\"next\"" })
      )
      const loopClient = yield* makeClient(looping.url, data)
      const loop = yield* loopClient.list(dir).pipe(Effect.flip)
      assert.include(loop.message, "the pagination links loop back to")
    }))

  it.scopedLive("a listing that is not a JSON array of keys is an integrity error", () =>
    Effect.gen(function*() {
      const server = yield* hostileServer((_req, res) => sendJson(res, { files: ["s3://h/ds/a.txt"] }))
      const client = yield* makeClient(server.url, data)
      const error = yield* client.list(dir).pipe(Effect.flip)
      assert.strictEqual(error._tag, "DalIntegrityError")
      assert.include(error.message, "the listing is not a JSON array of keys")
    }))
})
