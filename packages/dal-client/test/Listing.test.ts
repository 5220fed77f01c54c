import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as DalClient from "../src/DalClient.js"
import * as DalSettings from "../src/DalSettings.js"
import * as DalTransport from "../src/DalTransport.js"
import * as KeyArray from "../src/internal/keyArray.js"
import * as Scrub from "../src/internal/scrub.js"
import { assertNoTokenPart, hostileServer, makeClient, quick, sendJson, TOKEN } from "./support/index.js"

const dir = "s3://h/ds/"
const data = { ds: dir }

/** Decodes `text` fed in pieces cut at `cuts`. */
const decodeInPieces = (text: string, cuts: ReadonlyArray<number>) => {
  const bytes = Buffer.from(text)
  const keys: Array<string> = []
  const decoder = KeyArray.make((key) => void keys.push(key))
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  let from = 0
  for (const to of [...points, bytes.length]) {
    if (to <= from) continue
    const problem = decoder.feed(bytes.subarray(from, to))
    if (problem !== undefined) return { keys, problem }
    from = to
  }
  return { keys, problem: decoder.end() }
}

describe("listing pages decoded as they arrive", () => {
  it.prop(
    "any array of strings decodes to the same keys as JSON.parse, however it is split",
    [Schema.Array(Schema.String), Schema.Array(Schema.Int.pipe(Schema.between(0, 10_000)))],
    ([keys, cuts]) => {
      const text = JSON.stringify(keys, null, keys.length % 2 === 0 ? undefined : 1)
      const decoded = decodeInPieces(text, cuts)
      assert.strictEqual(decoded.problem, undefined)
      assert.deepStrictEqual(decoded.keys, keys)
    }
  )

  it("refuses what is not an array of strings, naming the byte, never quoting it", () => {
    const refused = (text: string) => decodeInPieces(text, [3, 7]).problem
    assert.include(refused(`{"files":["${TOKEN}"]}`), "byte 0: expected '['")
    assert.include(refused(`["a", 1]`), "byte 6: expected a string")
    assert.include(refused(`["a" "b"]`), "expected ',' or ']'")
    assert.include(refused(`["a"] x`), "expected nothing after the array")
    assert.include(refused(`["a", "b`), "the page ended")
    assert.include(refused(`["a\u0001"]`), "no control characters")
    assert.include(refused(`["\\x"]`), "a valid JSON string")
    assert.notInclude(refused(`["${TOKEN}" x]`) ?? "", TOKEN)
  })
})

describe("the token never shows", () => {
  it.prop("a scrubbed text holds no run of 8 characters of the token", [Schema.String, Schema.String], ([a, b]) => {
    const scrub = Scrub.make(TOKEN)
    const text = `${a}${TOKEN.slice(3, 15)}${b}${TOKEN}${a}${TOKEN.slice(-9)}`
    assert.isTrue(scrub.leaks(text))
    assertNoTokenPart(scrub.text(text))
    assert.strictEqual(scrub.text("nothing secret here"), "nothing secret here")
  })

  it.scopedLive("listing entries and links that echo the token are refused without showing it", () =>
    Effect.gen(function*() {
      // a key sharing a short readable run with the token is fine (tokens like tok-gateway-1-... are common)
      assert.isFalse(Scrub.make("tok-gateway-1-3f9a7c-never-log-me").leaks("s3://b/ds_gateway-1_org-1/a.csv"))
      const echoes = [
        [`s3://h/ds/${TOKEN}.txt`],
        [`s3://h/ds/a/${TOKEN.slice(5, 20)}/b.txt`],
        [`s3://h/ds/../${TOKEN}`]
      ]
      for (const keys of echoes) {
        const server = yield* hostileServer((_req, res) => {
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(keys))
        })
        const error = yield* (yield* makeClient(server.url, data)).list(dir).pipe(Effect.flip)
        assert.strictEqual(error._tag, "DalUnsafePath")
        assertNoTokenPart(error.message, "the error")
      }
      const leaving = yield* hostileServer((_req, res) => {
        res.writeHead(200, { "content-type": "application/json", link: `<http://evil.example/${TOKEN}>; rel="next"` })
          .end("[]")
      })
      const error = yield* (yield* makeClient(leaving.url, data)).list(dir).pipe(Effect.flip)
      assert.include(error.message, "leaves the DAL base URL")
      assertNoTokenPart(error.message, "the error")
    }))
})

describe("folders listed in turn", () => {
  it.scopedLive("a folder's listing may repeat keys listed elsewhere in the dataset, never add new ones", () =>
    Effect.gen(function*() {
      const serve = (inner: ReadonlyArray<string>) =>
        hostileServer((req, res) =>
          sendJson(res, req.url === "/datasets/s3://h/ds/" ? ["s3://h/ds/a.txt", "s3://h/ds/sub/"] : inner)
        )
      const repeating = yield* serve(["s3://h/ds/sub/b.txt", "s3://h/ds/a.txt"])
      const entries = yield* (yield* makeClient(repeating.url, data)).list(dir)
      assert.deepStrictEqual([...entries].map((e) => e.key), [
        "s3://h/ds/a.txt",
        "s3://h/ds/sub/",
        "s3://h/ds/sub/b.txt"
      ])

      const adding = yield* serve(["s3://h/ds/sub/b.txt", "s3://h/ds/new.txt"])
      const error = yield* (yield* makeClient(adding.url, data)).list(dir).pipe(Effect.flip)
      assert.strictEqual(error._tag, "DalUnsafePath")
      assert.include(error.message, `refused "s3://h/ds/new.txt": is not below the folder whose listing sent it`)
    }))
})

describe("large listings", () => {
  it.scopedLive(
    "a page of 200,000 entries is listed (no argument-count limit), chunked or sized",
    () =>
      Effect.gen(function*() {
        const keys = Array.from({ length: 200_000 }, (_, i) => `s3://h/ds/f${i}.bin`)
        const body = JSON.stringify(keys)
        const server = yield* hostileServer((req, res) => {
          if (req.url?.includes("page=2") === true) {
            // no Content-Length: node:http sends it chunked
            res.writeHead(200, { "content-type": "application/json" })
            res.end(JSON.stringify(["s3://h/ds/last.bin"]))
            return
          }
          res.writeHead(200, { "content-length": String(Buffer.byteLength(body)), link: "s3://h/ds/?page=2" })
          res.end(body)
        })
        const entries = yield* (yield* makeClient(server.url, data)).list(dir)
        assert.strictEqual(entries.size, 200_001)
      }),
    30_000
  )

  it.scopedLive("over the page size or entry count limit: one clear error naming the limit", () =>
    Effect.gen(function*() {
      const page = (count: number, prefix: string) =>
        JSON.stringify(Array.from({ length: count }, (_, i) => `s3://h/ds/${prefix}${i}.bin`))
      const first = page(300, "f")
      const second = page(600, "g")
      const server = yield* hostileServer((req, res) => {
        // the second page comes without a length, so only counting its bytes can stop it
        if (req.url?.includes("page=2") === true) return void res.writeHead(200).end(second)
        res.writeHead(200, { "content-length": String(first.length), link: "s3://h/ds/?page=2" }).end(first)
      })
      assert.isBelow(first.length, 10_000)
      assert.isAbove(second.length, 10_000)
      const entries = yield* (yield* makeClient(server.url, data, { maxListingEntries: 250 })).list(dir).pipe(
        Effect.flip
      )
      assert.strictEqual(entries._tag, "DalIntegrityError")
      assert.include(entries.message, "the listing has more than 250 entries (APH_MAX_LISTING_ENTRIES)")

      for (const pageBytes of [2048, 10_000]) {
        const client = yield* makeClient(server.url, data, { maxListingPageBytes: pageBytes })
        const error = yield* client.list(dir).pipe(Effect.flip)
        assert.strictEqual(error._tag, "DalIntegrityError")
        assert.include(error.message, `a listing page is larger than ${pageBytes} bytes (APH_MAX_LISTING_PAGE_BYTES)`)
      }
    }))
})

describe("the transport's test layer", () => {
  it.scoped("drives the client from memory: a transient 503, then a listing and a refused encoding", () =>
    Effect.gen(function*() {
      let calls = 0
      const transport = DalTransport.layerTest((request) => {
        calls++
        // Retry-After: 0, so the retry needs no time to pass on the test clock
        if (calls === 1) return { status: 503, headers: { "retry-after": "0" }, body: "busy" }
        if (request.url.endsWith("/datasets/s3://h/ds/")) return { status: 200, body: "[\"s3://h/ds/a.txt\"]" }
        return { status: 200, headers: { "content-encoding": "br" }, body: "compressed" }
      })
      const client = yield* Layer.build(
        DalClient.layerWithTransport.pipe(
          Layer.provide(Layer.mergeAll(
            transport,
            DalSettings.layerFromValues({ url: "http://dal.test/", token: Redacted.make(TOKEN), data, ...quick })
          ))
        )
      ).pipe(Effect.map(Context.get(DalClient.DalClient)))
      const entries = yield* client.list(dir)
      assert.deepStrictEqual([...entries].map((e) => e.key), ["s3://h/ds/a.txt"])
      assert.strictEqual(calls, 2)
      const error = yield* client.policy("ds").pipe(Effect.flip)
      assert.strictEqual(error._tag, "DalIntegrityError")
      assert.include(error.message, "unsupported Content-Encoding \"br\"")
    }))
})
