import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as HostileCorpus from "../src/HostileCorpus.js"
import * as JsonBody from "../src/JsonBody.js"

describe("HostileCorpus", () => {
  const corpus = HostileCorpus.make()

  it("holds at least 200 payloads with unique, stable ids", () => {
    assert.isAtLeast(corpus.length, 200)
    assert.strictEqual(new Set(corpus.map((entry) => entry.id)).size, corpus.length)
    assert.deepStrictEqual(HostileCorpus.make().map((entry) => entry.id), corpus.map((entry) => entry.id))
  })

  it("covers every category", () => {
    const categories = new Set(corpus.map((entry) => entry.category))
    for (
      const category of [
        "malformed",
        "oversized",
        "deep",
        "prototype",
        "duplicate-key",
        "root",
        "unknown-field",
        "missing-field",
        "injection",
        "unicode",
        "number",
        "long-string",
        "type-confusion"
      ] as const
    ) {
      assert.isTrue(categories.has(category), category)
    }
  })

  it("aims the issue's hostile values at every field of the sample", () => {
    const bodies = new Map(corpus.map((entry) => [entry.id, entry.body]))
    for (const field of Object.keys(HostileCorpus.contractSample)) {
      const at = (name: string) => {
        const body = bodies.get(name.replace("*", field))
        assert.isDefined(body, name.replace("*", field))
        return JSON.parse(body!)[field]
      }
      assert.strictEqual(at("injection/*/json-breakout"), "\"}, {\"path\": \"os.system\"")
      assert.strictEqual(at("injection/*/flare-site-name"), "{SITE_NAME}")
      assert.strictEqual(at("injection/*/flare-secret-env"), "${secret:APH_DAL_TOKEN}")
      assert.strictEqual(at("injection/*/shell-subst"), "$(rm -rf /)")
      assert.strictEqual(at("unicode/*/rtl-override-suffix"), "adam\u202e")
      assert.strictEqual(at("unicode/*/nul"), "\u0000")
      assert.strictEqual(at("unicode/*/lone-high-surrogate"), "\ud800")
      assert.strictEqual(at("unicode/*/homoglyph-cyrillic-a"), "\u0430dam")
      assert.strictEqual(at("number/*/negative-zero"), -0)
      assert.strictEqual(at("number/*/overflow"), Infinity)
      assert.strictEqual(at("number/*/underflow"), 0)
      assert.deepStrictEqual(at("type-confusion/*/array-of-object"), [{}])
      assert.lengthOf(at("long-string/*/100k"), 100_000)
      assert.include(bodies.get(`number/${field}/unsafe-integer`), "9007199254740993")
    }
  })

  it("keeps the markers of each string payload, to trace them through a render", () => {
    const entry = corpus.find((e) => e.id === "injection/optimizer_name/flare-site-name")
    assert.deepStrictEqual(entry?.markers, ["{SITE_NAME}"])
  })

  it("expects exactly what the body screening finds, independently of any runtime", () => {
    for (const entry of corpus) {
      const result = JsonBody.parseEither(entry.body)
      const tag = Either.isLeft(result) ? result.left._tag : "accepted"
      switch (entry.expect) {
        case "MalformedJson":
        case "PayloadTooLarge":
        case "InvalidPayload":
          assert.strictEqual(tag, entry.expect, entry.id)
          break
        case "reject":
          assert.notStrictEqual(tag, "accepted", entry.id)
          break
        case "reject-or-safe":
          break
      }
    }
  })

  it("sizes oversized and deep bodies from the limits", () => {
    const limits = { ...JsonBody.defaultLimits, maxBytes: 4096, maxDepth: 4 }
    const small = HostileCorpus.make({ a: 1 }, { limits })
    const padded = small.find((entry) => entry.id === "oversized/whitespace-padding")!
    assert.strictEqual(Buffer.byteLength(padded.body), 4097)
    const twoByte = small.find((entry) => entry.id === "oversized/two-byte-characters")!
    assert.isBelow(twoByte.body.length, 4096)
    assert.isAbove(Buffer.byteLength(twoByte.body), 4096)
    for (const entry of small.filter((e) => e.category === "oversized" || e.category === "deep")) {
      assert.isTrue(Either.isLeft(JsonBody.parseEither(entry.body, limits)), entry.id)
    }
    const justPast = small.find((entry) => entry.id === "deep/just-past-limit")!
    assert.isTrue(Either.isRight(JsonBody.parseEither(justPast.body, { ...limits, maxDepth: 5 })))
  })
})
