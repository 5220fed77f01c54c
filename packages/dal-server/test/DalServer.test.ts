import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as fs from "node:fs/promises"
import { request as httpRequest } from "node:http"
import * as path from "node:path"
import { DalServer } from "../src/index.js"
import { bytes, enc, header, json, quiet, request } from "./support/http.js"

// more than the two 1 MiB read buffers a transfer holds, and not a multiple of them
const big = bytes(2 * 1024 * 1024 + 17)
// more than loopback socket buffers take in, so a client that leaves early really leaves mid-file
const huge = new Uint8Array(48 * 1024 * 1024)

const special = [
  "s3://data/special/some dir/file #1?.csv",
  "s3://data/special/100%/ünï €.txt",
  "s3://data/special/a+b&c=d;e'f.txt"
]

const files: Record<string, string | Uint8Array> = {
  "s3://data/hello.txt": "hello world",
  "s3://data/empty.txt": "",
  "s3://data/big.bin": big,
  "s3://spare/huge.bin": huge,
  "s3://data/tree/a.csv": "a",
  "s3://data/tree/sub/b.csv": "b",
  "s3://data/tree/sub/deeper/c.csv": "c",
  "s3://data/tree/empty/": "",
  "s3://data/tree/z.csv": "z",
  ...Object.fromEntries(special.map((key) => [key, `content of ${key}`]))
}

const policies = {
  "s3://data/": { permissions: { explore: false }, privacy: {} },
  "s3://data/tree/": {
    permissions: { explore: true, restrict_functions: true, allowed_function_names: ["max_column"] },
    privacy: { noise: "bounded" },
    custom_field: { kept: [1, 2, 3] }
  },
  "s3://data/tree/sub/b.csv": { permissions: { explore: true, restrict_functions: false } }
}

layer(quiet(DalServer.layerTest({ files, policies })), { excludeTestServices: true })("files and ranges", (it) => {
  it.effect("GET serves the file with Content-Length, ETag and Accept-Ranges", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      const reply = yield* request(url, "/datasets/s3://data/big.bin")
      assert.strictEqual(reply.status, 200)
      assert.strictEqual(reply.headers["content-length"], String(big.length))
      assert.strictEqual(reply.headers["accept-ranges"], "bytes")
      assert.match(reply.headers.etag ?? "", /^"[0-9a-f]+-[0-9a-f]+"$/)
      assert.isTrue(Buffer.from(big).equals(reply.body))
    }))

  it.effect("HEAD answers the same headers without a body", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      const get = yield* request(url, "/datasets/s3://data/hello.txt")
      const head = yield* request(url, "/datasets/s3://data/hello.txt", { method: "HEAD" })
      assert.strictEqual(head.status, 200)
      assert.strictEqual(head.headers["content-length"], "11")
      assert.strictEqual(head.headers.etag, get.headers.etag)
      assert.strictEqual(head.body.length, 0)
    }))

  it.effect("Range answers 206 with Content-Range, for bounded, open and suffix ranges", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      const size = big.length
      for (
        const [range, start, end] of [
          ["bytes=0-0", 0, 0],
          ["bytes=1000-200000", 1000, 200000],
          ["bytes=1048000-", 1048000, size - 1],
          ["bytes=-17", size - 17, size - 1],
          ["bytes=1048000-99999999", 1048000, size - 1]
        ] as const
      ) {
        const reply = yield* request(url, "/datasets/s3://data/big.bin", { headers: { range } })
        assert.strictEqual(reply.status, 206, range)
        assert.strictEqual(reply.headers["content-range"], `bytes ${start}-${end}/${size}`)
        assert.strictEqual(reply.headers["content-length"], String(end - start + 1))
        assert.isTrue(Buffer.from(big.subarray(start, end + 1)).equals(reply.body), range)
      }
    }))

  it.effect("a range past the end is 416 with Content-Range bytes */size", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      const reply = yield* request(url, "/datasets/s3://data/hello.txt", { headers: { range: "bytes=11-" } })
      assert.strictEqual(reply.status, 416)
      assert.strictEqual(reply.headers["content-range"], "bytes */11")
      assert.property(json(reply), "error")
      const empty = yield* request(url, "/datasets/s3://data/empty.txt", { headers: { range: "bytes=0-" } })
      assert.strictEqual(empty.status, 416)
    }))

  it.effect("malformed or multiple ranges are ignored (full 200)", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      for (const range of ["bytes=0-1,5-6", "items=0-1", "bytes=5-2"]) {
        const reply = yield* request(url, "/datasets/s3://data/hello.txt", { headers: { range } })
        assert.strictEqual(reply.status, 200, range)
        assert.strictEqual(reply.body.toString(), "hello world")
      }
    }))

  it.effect("If-Range with the current ETag honours the range; a stale one sends the whole file", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      const { headers } = yield* request(url, "/datasets/s3://data/hello.txt", { method: "HEAD" })
      const etag = headers.etag!
      const fresh = yield* request(url, "/datasets/s3://data/hello.txt", {
        headers: { range: "bytes=6-", "if-range": etag }
      })
      assert.strictEqual(fresh.status, 206)
      assert.strictEqual(fresh.body.toString(), "world")
      const stale = yield* request(url, "/datasets/s3://data/hello.txt", {
        headers: { range: "bytes=6-", "if-range": "\"0-0\"" }
      })
      assert.strictEqual(stale.status, 200)
      assert.strictEqual(stale.body.toString(), "hello world")
    }))

  it.effect("the ETag changes when the file is rewritten", () =>
    Effect.gen(function*() {
      const { root, url } = yield* DalServer.DalServer
      const file = path.join(root, "data", "rewritten.txt")
      yield* Effect.promise(() => fs.writeFile(file, "one"))
      const before = yield* request(url, "/datasets/s3://data/rewritten.txt")
      yield* Effect.promise(() => fs.writeFile(file, "two!"))
      const after = yield* request(url, "/datasets/s3://data/rewritten.txt")
      assert.notStrictEqual(before.headers.etag, after.headers.etag)
      assert.strictEqual(after.body.toString(), "two!")
    }))

  it.effect("special characters in names work percent-encoded per segment", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      for (const key of special) {
        const reply = yield* request(url, `/datasets/${enc(key)}`)
        assert.strictEqual(reply.status, 200, key)
        assert.strictEqual(reply.body.toString("utf8"), `content of ${key}`)
      }
      // ":" may be encoded too
      const colon = yield* request(url, "/datasets/s3%3A//data/hello.txt")
      assert.strictEqual(colon.body.toString(), "hello world")
    }))

  it.effect("an unencoded key works too (what the Python client sends)", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      const reply = yield* request(url, "/datasets/s3://data/special/a+b&c=d;e'f.txt")
      assert.strictEqual(reply.status, 200)
      assert.strictEqual(reply.body.toString(), "content of s3://data/special/a+b&c=d;e'f.txt")
    }))

  it.effect("missing files, folders without trailing slash and bad keys are JSON errors", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      const cases = [
        ["/datasets/s3://data/nope.txt", 404],
        ["/datasets/s3://data/tree", 404],
        ["/datasets/s3://data/hello.txt/", 404],
        ["/datasets/s3://nobucket/", 404],
        ["/datasets/data/hello.txt", 400],
        ["/datasets/s3:/data/hello.txt", 400],
        ["/datasets/s3://data//hello.txt", 400],
        ["/datasets/s3://data/%E0%A4%A", 400],
        ["/nothing-here", 404]
      ] as const
      for (const [target, status] of cases) {
        const reply = yield* request(url, target)
        assert.strictEqual(reply.status, status, target)
        assert.strictEqual(reply.headers["content-type"], "application/json; charset=utf-8")
        assert.isString((json(reply) as { error: unknown }).error, target)
      }
      const put = yield* request(url, "/datasets/s3://data/hello.txt", { method: "PUT", body: new Uint8Array(1) })
      assert.strictEqual(put.status, 405)
      assert.strictEqual(put.headers.allow, "GET, HEAD")
    }))

  it.effect("a small file served after a big one carries only its own bytes (read buffers are reused)", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      assert.isTrue(Buffer.from(big).equals((yield* request(url, "/datasets/s3://data/big.bin")).body))
      const small = yield* request(url, "/datasets/s3://data/hello.txt")
      assert.strictEqual(small.body.toString("utf8"), "hello world")
      const tail = yield* request(url, "/datasets/s3://data/big.bin", { headers: { range: "bytes=-5" } })
      assert.isTrue(Buffer.from(big.subarray(-5)).equals(tail.body))
    }))

  it.effect("a client leaving mid-file is logged aborted, the file is closed, and the server goes on", () =>
    Effect.gen(function*() {
      const server = yield* DalServer.DalServer
      const target = new URL("datasets/s3://spare/huge.bin", server.url)
      yield* Effect.async<void>((resume) => {
        const req = httpRequest(target, { headers: { "x-request-id": "leaves-early" }, agent: false }, (res) => {
          res.once("data", () => {
            req.destroy()
            resume(Effect.void)
          })
        })
        req.end()
      })
      const openFiles = Effect.promise(async () => {
        const fds = await fs.readdir("/proc/self/fd")
        const links = await Promise.all(fds.map((fd) => fs.readlink(`/proc/self/fd/${fd}`).catch(() => "")))
        return links.filter((link) => link.endsWith("huge.bin")).length
      })
      const entry = yield* server.requests.pipe(
        Effect.map((entries) => entries.find((e) => e.id === "leaves-early")),
        Effect.filterOrFail((found) => found !== undefined),
        Effect.zipLeft(openFiles.pipe(Effect.filterOrFail((count) => count === 0))),
        Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 100 })
      )
      assert.deepInclude(entry, { status: 200, outcome: "aborted" })
      assert.isBelow(entry.bytes, huge.length)
      const after = yield* request(server.url, "/datasets/s3://data/hello.txt")
      assert.strictEqual(after.body.toString("utf8"), "hello world")
    }))

  it.effect("requests are recorded with range and outcome", () =>
    Effect.gen(function*() {
      const server = yield* DalServer.DalServer
      const reply = yield* request(server.url, "/datasets/s3://data/hello.txt", {
        headers: { range: "bytes=2-3", "x-request-id": "trace-42" }
      })
      assert.strictEqual(reply.headers["x-request-id"], "trace-42")
      const entry = (yield* server.requests).find((e) => e.id === "trace-42")
      assert.deepInclude(entry, {
        method: "GET",
        path: "/datasets/s3://data/hello.txt",
        key: "s3://data/hello.txt",
        status: 206,
        bytes: 2,
        range: "bytes=2-3",
        outcome: "complete"
      })
    }))
})

layer(quiet(DalServer.layerTest({ files, policies })), { excludeTestServices: true })("listing and policies", (it) => {
  it.effect("a folder key lists every file below it, recursively, sorted, and no folder keys", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      const reply = yield* request(url, "/datasets/s3://data/tree/")
      assert.strictEqual(reply.status, 200)
      assert.strictEqual(reply.headers["content-type"], "application/json; charset=utf-8")
      assert.isUndefined(header(reply, "link"))
      assert.deepStrictEqual(json(reply), [
        "s3://data/tree/a.csv",
        "s3://data/tree/sub/b.csv",
        "s3://data/tree/sub/deeper/c.csv",
        "s3://data/tree/z.csv"
      ])
      const empty = yield* request(url, "/datasets/s3://data/tree/empty/")
      assert.deepStrictEqual(json(empty), [])
    }))

  it.effect("listed keys with special characters can be fetched back", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      const listed = json(yield* request(url, `/datasets/${enc("s3://data/special/")}`)) as Array<string>
      assert.sameMembers(listed, special)
      for (const key of listed) {
        const reply = yield* request(url, `/datasets/${enc(key)}`)
        assert.strictEqual(reply.body.toString("utf8"), `content of ${key}`)
      }
    }))

  it.effect("policy on a file wins over its folder's; otherwise the nearest enclosing folder's", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      const policyOf = (key: string) => request(url, `/policies/${enc(key)}`).pipe(Effect.map(json))
      assert.deepStrictEqual(yield* policyOf("s3://data/tree/sub/b.csv"), policies["s3://data/tree/sub/b.csv"])
      assert.deepStrictEqual(yield* policyOf("s3://data/tree/sub/deeper/c.csv"), policies["s3://data/tree/"])
      assert.deepStrictEqual(yield* policyOf("s3://data/tree/"), policies["s3://data/tree/"])
      assert.deepStrictEqual(yield* policyOf("s3://data/hello.txt"), policies["s3://data/"])
      // unknown fields are served as given, in order
      const raw = (yield* request(url, "/policies/s3://data/tree/a.csv")).body.toString()
      assert.strictEqual(raw, JSON.stringify(policies["s3://data/tree/"]))
    }))

  it.effect("no policy for a key is 404 with a JSON error", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      const reply = yield* request(url, "/policies/s3://elsewhere/x.csv")
      assert.strictEqual(reply.status, 404)
      assert.include((json(reply) as { error: string }).error, "s3://elsewhere/x.csv")
    }))
})

layer(quiet(DalServer.layerTest({ files, folderEntries: true })), { excludeTestServices: true })(
  "listing with folder entries",
  (it) => {
    it.effect("folderEntries lists folders too, ending in /, in key order", () =>
      Effect.gen(function*() {
        const { url } = yield* DalServer.DalServer
        assert.deepStrictEqual(json(yield* request(url, "/datasets/s3://data/tree/")), [
          "s3://data/tree/a.csv",
          "s3://data/tree/empty/",
          "s3://data/tree/sub/",
          "s3://data/tree/sub/b.csv",
          "s3://data/tree/sub/deeper/",
          "s3://data/tree/sub/deeper/c.csv",
          "s3://data/tree/z.csv"
        ])
      }))
  }
)

const allFiles = [
  "s3://data/big.bin",
  "s3://data/empty.txt",
  "s3://data/hello.txt",
  "s3://data/special/100%/ünï €.txt",
  "s3://data/special/a+b&c=d;e'f.txt",
  "s3://data/special/some dir/file #1?.csv",
  "s3://data/tree/a.csv",
  "s3://data/tree/sub/b.csv",
  "s3://data/tree/sub/deeper/c.csv",
  "s3://data/tree/z.csv"
]

/** Every page of a listing, following each `Link` with `follow` (header value, current URL) until there is none. */
const allPages = (url: string, first: string, follow: (link: string, current: string) => string) =>
  Effect.gen(function*() {
    const pages: Array<Array<string>> = []
    let next: string | undefined = `${url}datasets/${first}`
    while (next !== undefined) {
      const target = new URL(next)
      const reply = yield* request(url, target.pathname + target.search)
      assert.strictEqual(reply.status, 200)
      pages.push(json(reply) as Array<string>)
      const link = header(reply, "link")
      next = link === undefined ? undefined : follow(link, next)
    }
    return pages
  })

layer(quiet(DalServer.layerTest({ files, pageSize: 2 })), { excludeTestServices: true })("pagination", (it) => {
  it.effect("the Link header is the bare suffix the official client appends to {APH_API_DAL_URL}datasets/", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      const links: Array<string> = []
      const pages = yield* allPages(url, "s3://data/", (link) => {
        links.push(link)
        assert.match(link, /^s3:\/\/data\/\?cursor=[A-Za-z0-9_-]+$/)
        return `${url}datasets/${link}`
      })
      assert.isTrue(pages.every((page) => page.length === 2))
      assert.deepStrictEqual(pages.flat(), allFiles)
      assert.strictEqual(links.length, allFiles.length / 2 - 1)
    }))

  it.effect("pages of a folder of special-character names join up through suffix links", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      const pages = yield* allPages(url, enc("s3://data/special/some dir/"), (link) => `${url}datasets/${link}`)
      assert.deepStrictEqual(pages.flat(), ["s3://data/special/some dir/file #1?.csv"])
      const links: Array<string> = []
      const specialPages = yield* allPages(url, enc("s3://data/special/"), (link) => {
        links.push(link)
        return `${url}datasets/${link}`
      })
      assert.deepStrictEqual(specialPages.flat(), special.slice().sort())
      assert.strictEqual(links.length, 1)
      assert.match(links[0]!, /^s3:\/\/data\/special\/\?cursor=[\w-]+$/)
    }))
})

layer(
  quiet(DalServer.layerTest({ files, pageSize: 2, pageLinks: "rfc8288", publicUrl: "https://dal.example/gw/" })),
  { excludeTestServices: true }
)("pagination with RFC 8288 links", (it) => {
  it.effect("the Link is <publicUrl/datasets/…>; rel=next whatever Host the request carried", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      const first = yield* request(url, `/datasets/${enc("s3://data/special/")}`, {
        headers: { host: "attacker.example" }
      })
      const link = header(first, "link") ?? ""
      assert.match(link, /^<https:\/\/dal\.example\/gw\/datasets\/s3:\/\/data\/special\/\?cursor=[\w-]+>; rel="next"$/)
      const pages = yield* allPages(url, enc("s3://data/special/"), (value) => {
        const next = new URL(/^<([^>]+)>; rel="next"$/.exec(value)![1]!)
        return `${url}${next.pathname.replace("/gw/", "")}${next.search}`
      })
      assert.deepStrictEqual(pages.flat(), [
        "s3://data/special/100%/ünï €.txt",
        "s3://data/special/a+b&c=d;e'f.txt",
        "s3://data/special/some dir/file #1?.csv"
      ])
    }))
})
