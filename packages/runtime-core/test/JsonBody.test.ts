import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as JsonBody from "../src/JsonBody.js"
import type { PayloadRejected } from "../src/Rejection.js"

const reject = (body: string | Uint8Array, limits?: Partial<JsonBody.Limits>): PayloadRejected => {
  const result = JsonBody.parseEither(body, { ...JsonBody.defaultLimits, ...limits })
  assert.isTrue(Either.isLeft(result), `expected a rejection for ${String(body).slice(0, 60)}`)
  return (result as Either.Left<PayloadRejected, unknown>).left
}

const accept = (body: string | Uint8Array) => Either.getOrThrow(JsonBody.parseEither(body))

describe("JsonBody", () => {
  describe("size", () => {
    it("measures UTF-8 bytes, not characters", () => {
      const limits = { maxBytes: 20 }
      const atLimit = `{"a":"${"é".repeat(7)}"}` // 6 + 14 + 2 = 22 bytes in 18 characters
      const error = reject(atLimit, limits)
      assert.strictEqual(error._tag, "PayloadTooLarge")
      if (error._tag !== "PayloadTooLarge") return
      assert.strictEqual(error.limitBytes, 20)
      assert.strictEqual(error.actualBytes, 22)
      assert.include(error.message, "22 bytes sent, at most 20 bytes")
    })

    it("accepts a body of exactly the limit", () => {
      const body = `{"a":"${"x".repeat(12)}"}`
      assert.strictEqual(Buffer.byteLength(body), 20)
      assert.isTrue(Either.isRight(JsonBody.parseEither(body, { ...JsonBody.defaultLimits, maxBytes: 20 })))
    })

    it("measures bytes before decoding them", () => {
      const error = reject(new Uint8Array(1024 * 1024 + 1).fill(0x20))
      assert.strictEqual(error._tag, "PayloadTooLarge")
    })

    it("refuses bytes that are not UTF-8", () => {
      const error = reject(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))
      assert.strictEqual(error._tag, "MalformedJson")
      assert.deepStrictEqual(error.issues, [{ path: "(root)", message: "the body is not valid UTF-8 text" }])
    })

    it("reads UTF-8 bytes like text", () => {
      assert.deepStrictEqual(accept(new TextEncoder().encode("{\"name\": \"ünï\"}")), { name: "ünï" })
    })
  })

  describe("syntax", () => {
    const cases: ReadonlyArray<readonly [string, string, string, number, number, string]> = [
      ["empty", "", "(root)", 1, 1, "the body is empty"],
      ["trailing comma", "{\n  \"a\": [1, 2,]\n}", "a[2]", 2, 14, "trailing commas are not JSON"],
      ["single quotes", "{'a': 1}", "(root)", 1, 2, "expected a field name in double quotes, found \"'\""],
      ["bad escape", "{\"a\": \"x\\qy\"}", "a", 1, 9, "\"q\" cannot follow a backslash"],
      ["raw newline in string", "{\"a\": \"x\ny\"}", "a", 1, 9, "control character U+000A must be escaped"],
      ["unclosed", "{\"a\": {\"b\": [1", "a.b[0]", 1, 15, "the body ends inside the array opened at line 1, column 13"],
      ["NaN", "{\"a\": NaN}", "a", 1, 7, "unexpected \"N\": expected a value"],
      ["leading zero", "{\"a\": 01}", "a", 1, 7, "numbers cannot have leading zeros"],
      ["trailing content", "{} {}", "(root)", 1, 4, "after the end of the JSON value"],
      ["byte-order mark", "\ufeff{}", "(root)", 1, 1, "byte-order mark"],
      ["missing colon", "{\"a\" 1}", "a", 1, 6, "expected \":\" after the field name"],
      ["bad key after comma", "{\"a\": 1, b: 2}", "(root)", 1, 10, "expected a field name in double quotes"],
      ["trailing comma in object", "{\"a\": 1,}", "(root)", 1, 9, "trailing commas are not JSON"]
    ]
    for (const [name, body, path, line, column, message] of cases) {
      it(`reports ${name} with its position and path`, () => {
        const error = reject(body)
        assert.strictEqual(error._tag, "MalformedJson")
        if (error._tag !== "MalformedJson") return
        assert.deepStrictEqual([error.line, error.column], [line, column])
        assert.lengthOf(error.issues, 1)
        assert.strictEqual(error.issues[0]?.path, path)
        assert.include(error.issues[0]?.message, `line ${line}, column ${column}: `)
        assert.include(error.issues[0]?.message, message)
      })
    }

    it("never echoes the input beyond one character", () => {
      const secret = "s3cret-".repeat(1000)
      const error = reject(`{"a": ${secret}}`)
      assert.notInclude(error.message, "s3cret-s3cret")
      assert.isBelow(error.message.length, 300)
    })

    it("agrees with JSON.parse on what is JSON", () => {
      const bodies = [
        "{}",
        "{\"a\": [1, -2.5e+3, true, false, null, \"\\u00e9\\n\\\"\"]}",
        " {\"a\" :{ \"b\":{}} } ",
        "{\"\": 0}"
      ]
      for (const body of bodies) assert.deepStrictEqual(accept(body), JSON.parse(body))
    })
  })

  describe("depth", () => {
    it("refuses nesting past the limit before building anything, with its path", () => {
      const error = reject(`{"a": ${"[".repeat(40)}${"]".repeat(40)}}`)
      assert.strictEqual(error._tag, "InvalidPayload")
      // The object is level 1 and "a" opens 31 arrays; the 32nd is the one too deep.
      assert.strictEqual(error.issues[0]?.path, `a${"[0]".repeat(31)}`)
      assert.include(error.issues[0]?.message, "nesting is deeper than 32 levels")
    })

    it("accepts nesting at the limit", () => {
      const body = `{"a": ${"[".repeat(31)}${"]".repeat(31)}}`
      assert.isTrue(Either.isRight(JsonBody.parseEither(body)))
    })

    it("stops a 100000-deep unclosed body at the limit", () => {
      const error = reject("[".repeat(100_000))
      assert.strictEqual(error._tag, "InvalidPayload")
    })
  })

  describe("content", () => {
    it("refuses prototype keys at any depth, escaped or not, listing each", () => {
      const error = reject(
        "{\"__proto__\": {}, \"a\": {\"constructor\": {\"prototype\": 1}}, \"b\": [{\"__pro\\u0074o__\": 1}]}"
      )
      assert.strictEqual(error._tag, "InvalidPayload")
      assert.deepStrictEqual(error.issues.map((issue) => issue.path), [
        "__proto__",
        "a.constructor",
        "a.constructor.prototype",
        "b[0].__proto__"
      ])
    })

    it("refuses duplicate keys", () => {
      const error = reject("{\"a\": 1, \"b\": 2, \"a\": 3}")
      assert.deepStrictEqual(error.issues, [{ path: "a", message: "this field appears more than once; give it once" }])
    })

    it("refuses numbers a double cannot hold", () => {
      const error = reject("{\"big\": 1e309, \"neg\": -1e309, \"tiny\": 1e-400, \"unsafe\": 9007199254740993}")
      assert.deepStrictEqual(error.issues.map((issue) => issue.path), ["big", "neg", "tiny", "unsafe"])
      assert.include(error.issues[0]?.message, "1e309 is too large to represent")
      assert.include(error.issues[2]?.message, "would silently become 0")
      assert.include(error.issues[3]?.message, "cannot be represented exactly")
    })

    it("accepts numbers a double holds exactly or as written in floating point", () => {
      const value = accept(
        "{\"a\": 9007199254740991, \"b\": 5e-324, \"c\": -0, \"d\": 1.7976931348623157e308, \"e\": 0.1, \"f\": 1152921504606846976}"
      )
      assert.deepStrictEqual(value, {
        a: 9007199254740991,
        b: 5e-324,
        c: -0,
        d: 1.7976931348623157e308,
        e: 0.1,
        f: 2 ** 60
      })
    })

    it("refuses NUL characters and unpaired surrogates, in values and keys", () => {
      const error = reject("{\"a\": \"x\\u0000\", \"b\": \"\\ud800\", \"c\\udc00\": 1, \"d\": \"\\udc00\\ud800\"}")
      assert.deepStrictEqual(error.issues.map((issue) => issue.path), ["a", "b", "[\"c\\udc00\"]", "d"])
      assert.include(error.issues[0]?.message, "NUL")
      assert.include(error.issues[1]?.message, "unpaired UTF-16 surrogate")
    })

    it("accepts surrogate pairs, raw or escaped", () => {
      assert.deepStrictEqual(accept("{\"a\": \"\\ud83d\\udd25🔥\"}"), { a: "🔥🔥" })
    })

    it("refuses roots that are not objects", () => {
      for (
        const [body, kind] of [["[]", "an array"], ["null", "null"], ["1", "a number"], ["\"x\"", "a string"], [
          "true",
          "true"
        ]]
      ) {
        const error = reject(body!)
        assert.strictEqual(error._tag, "InvalidPayload")
        assert.deepStrictEqual(error.issues, [{
          path: "(root)",
          message: `Expected a JSON object ({"name": value, …}), got ${kind}`
        }])
      }
    })

    it("lists at most maxIssues problems and counts the rest", () => {
      const body = `{${Array.from({ length: 10 }, (_, i) => `"k${i}": 1e999`).join(",")}}`
      const error = reject(body, { maxIssues: 3 })
      assert.lengthOf(error.issues, 4)
      assert.deepStrictEqual(error.issues[3], { path: "(root)", message: "7 more problems were not listed" })
    })

    it("keeps content problems as data in scanEither", () => {
      const scanned = Either.getOrThrow(JsonBody.scanEither("{\"a\": 1, \"a\": 2}"))
      assert.deepStrictEqual(scanned.value, { a: 2 })
      assert.lengthOf(scanned.issues, 1)
    })
  })

  it("checks limits", () => {
    assert.isTrue(Either.isLeft(JsonBody.makeLimits({ maxBytes: 0 })))
    assert.deepStrictEqual(Either.getOrThrow(JsonBody.makeLimits({ maxDepth: 4 })), {
      ...JsonBody.defaultLimits,
      maxDepth: 4
    })
  })
})
