import { assert, describe, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { CanonicalJson } from "../src/index.js"

// Rebuilds every object with its keys in a random order: canonical text must not depend on insertion order.
const shuffled = (value: CanonicalJson.JsonValue, random: () => number): CanonicalJson.JsonValue => {
  if (Array.isArray(value)) return value.map((item: CanonicalJson.JsonValue) => shuffled(item, random))
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).sort(() => random() - 0.5)
    return Object.fromEntries(entries.map(([key, item]) => [key, shuffled(item, random)]))
  }
  return value
}

const issuesOf = (input: unknown) =>
  Either.match(Schema.decodeUnknownEither(CanonicalJson.JsonValue, { errors: "all" })(input), {
    onLeft: (error) =>
      ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => [issue.path.join("."), issue.message]),
    onRight: () => []
  })

describe("CanonicalJson.stringify", () => {
  it("orders FLARE's structural keys first, the rest by code point, with 2-space indentation and a final newline", () => {
    const text = CanonicalJson.stringify({
      task_result_filters: [],
      zeta: 1,
      args: { b: true, a: null, B: "x" },
      path: "a.B",
      format_version: 2,
      id: "c",
      components: [],
      empty: {}
    })
    assert.strictEqual(
      text,
      `{
  "format_version": 2,
  "id": "c",
  "path": "a.B",
  "args": {
    "B": "x",
    "a": null,
    "b": true
  },
  "components": [],
  "task_result_filters": [],
  "empty": {},
  "zeta": 1
}
`
    )
  })

  it("writes the numbers at the given paths with a fraction, others as JSON does, and -0 as 0", () => {
    assert.strictEqual(
      CanonicalJson.stringify([1, 0.5, -3, 2, -0, 1e-7, { a: 4 }], {
        floats: new Set(["$[0]", "$[1]", "$[2]", "$[6].a"])
      }),
      "[\n  1.0,\n  0.5,\n  -3.0,\n  2,\n  0,\n  1e-7,\n  {\n    \"a\": 4.0\n  }\n]\n"
    )
  })

  it.prop(
    "is byte-stable: key insertion order does not matter",
    [CanonicalJson.JsonValue, FastCheck.integer()],
    ([value, seed]) => {
      let state = seed
      const random = () => {
        state = (state * 1103515245 + 12345) & 0x7fffffff
        return state / 0x7fffffff
      }
      assert.strictEqual(CanonicalJson.stringify(shuffled(value, random)), CanonicalJson.stringify(value))
    },
    { fastCheck: { numRuns: 200 } }
  )

  it.prop(
    "writes natively what the writer for float paths writes (index-like keys and odd strings included)",
    [
      FastCheck.oneof(
        Arbitrary.make(CanonicalJson.JsonValue),
        FastCheck.dictionary<CanonicalJson.JsonValue>(
          FastCheck.oneof(FastCheck.constantFrom("0", "10", "2", "01", "-1", "a"), FastCheck.string()),
          FastCheck.oneof(FastCheck.string(), FastCheck.double(), FastCheck.constant(-0))
        ).map((record): CanonicalJson.JsonValue =>
          Object.fromEntries(Object.entries(record).filter(([key]) => key !== "__proto__"))
        )
      )
    ],
    ([value]) => {
      // A float path that matches nothing makes `stringify` write with its own writer instead of JSON.stringify.
      const written = CanonicalJson.stringify(value, { floats: new Set(["$.no.such.path"]) })
      assert.strictEqual(CanonicalJson.stringify(value), written)
    },
    { fastCheck: { numRuns: 300 } }
  )

  it.prop("round-trips through JSON.parse and is a fixed point", [CanonicalJson.JsonValue], ([value]) => {
    const text = CanonicalJson.stringify(value)
    const parsed = JSON.parse(text) as CanonicalJson.JsonValue
    assert.deepStrictEqual(parsed, value)
    assert.strictEqual(CanonicalJson.stringify(parsed), text)
    assert.isTrue(text.endsWith("\n"))
  }, { fastCheck: { numRuns: 200 } })
})

describe("CanonicalJson.JsonValue", () => {
  it("accepts JSON and copies it", () => {
    const input = { a: [1, "x", null, { b: false }] }
    const decoded = Schema.decodeUnknownSync(CanonicalJson.JsonValue)(input)
    assert.deepStrictEqual(decoded, input)
    assert.notStrictEqual(decoded, input)
  })

  it("rejects what JSON cannot hold, each at its path", () => {
    class Point {
      x = 1
    }
    const sparse: Array<number> = [1]
    sparse[2] = 3
    assert.deepStrictEqual(
      issuesOf({ a: NaN, b: [1, Infinity], c: undefined, d: () => 1, e: new Point(), f: sparse, g: 1n }),
      [
        ["a", "Expected a finite number, actual NaN"],
        ["b.1", "Expected a finite number, actual Infinity"],
        ["c", "Expected a JSON value (null, boolean, finite number, string, array or object), actual undefined"],
        ["d", "Expected a JSON value (null, boolean, finite number, string, array or object), actual function"],
        [
          "e",
          "Expected a JSON value (null, boolean, finite number, string, array or object), actual a non-JSON object"
        ],
        ["f.1", "is a hole"],
        ["g", "Expected a JSON value (null, boolean, finite number, string, array or object), actual bigint"]
      ]
    )
  })

  it("rejects a __proto__ key instead of letting it replace the prototype", () => {
    assert.deepStrictEqual(issuesOf(JSON.parse(`{"ok": 1, "__proto__": {"polluted": true}}`)), [
      ["__proto__", "the key __proto__ is not allowed"]
    ])
  })
})
