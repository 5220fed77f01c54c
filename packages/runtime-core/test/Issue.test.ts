import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Issue from "../src/Issue.js"

const issuesOf = <A, I>(schema: Schema.Schema<A, I>, input: unknown) => {
  const result = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })(input)
  assert.isTrue(Either.isLeft(result))
  return Issue.fromParseError((result as Either.Left<ParseResult.ParseError, A>).left)
}

describe("Issue", () => {
  it("formats paths like code", () => {
    assert.strictEqual(Issue.formatPath([]), "(root)")
    assert.strictEqual(Issue.formatPath(["layers", 2, "units"]), "layers[2].units")
    assert.strictEqual(Issue.formatPath([0, "a"]), "[0].a")
    assert.strictEqual(Issue.formatPath(["odd key", "x"]), "[\"odd key\"].x")
    assert.strictEqual(Issue.formatPath(["\u202eevil"]), "[\"\\u202eevil\"]")
  })

  it("merges alternatives into one issue and drops the noise of optional fields", () => {
    const schema = Schema.Struct({
      optimizer: Schema.Literal("adam", "sgd"),
      rate: Schema.optional(Schema.Number.pipe(Schema.positive()))
    })
    assert.deepStrictEqual(issuesOf(schema, { optimizer: "rmsprop", rate: -1 }), [
      { path: "optimizer", message: "Expected \"adam\" or \"sgd\", got \"rmsprop\"" },
      { path: "rate", message: "Expected a positive number, got -1" }
    ])
  })

  it("names no schema internals", () => {
    const Inner = Schema.Struct({ a: Schema.String }).annotations({ identifier: "InternalInnerStruct" })
    class Klass extends Schema.Class<Klass>("InternalClassName")({ b: Schema.Number }) {}
    const issues = issuesOf(Schema.Struct({ inner: Inner, klass: Klass, list: Schema.Array(Schema.Int) }), {
      inner: [],
      klass: "x",
      list: [1, 2.5, "3"]
    })
    assert.deepStrictEqual(issues, [
      { path: "inner", message: "Expected an object, got an empty array" },
      { path: "klass", message: "Expected an object, got \"x\"" },
      { path: "list[1]", message: "Expected an integer, got 2.5" },
      { path: "list[2]", message: "Expected a number, got \"3\"" }
    ])
    for (const issue of issues) assert.notMatch(issue.message, /Internal|Struct|Encoded side|readonly/)
  })

  it("reports missing and unknown fields in words", () => {
    const schema = Schema.Struct({ name: Schema.String, size: Schema.Number })
    assert.deepStrictEqual(issuesOf(schema, { size: 1, colour: "red" }), [
      { path: "colour", message: "is not an allowed field; allowed fields are \"name\" and \"size\"" },
      { path: "name", message: "is required" }
    ])
  })

  it("summarises and escapes the value it got", () => {
    const [long] = issuesOf(Schema.Struct({ a: Schema.Literal("x") }), { a: "y".repeat(5000) })
    assert.strictEqual(long?.message, `Expected "x", got "${"y".repeat(40)}…" (5000 characters)`)
    const [hidden] = issuesOf(Schema.Struct({ a: Schema.Literal("adam") }), { a: "\u0430dam\u202e\u0000" })
    assert.strictEqual(hidden?.message, "Expected \"adam\", got \"\\u0430dam\\u202e\\u0000\"")
    const [object] = issuesOf(Schema.Struct({ a: Schema.String }), { a: { secret: "s".repeat(100) } })
    assert.strictEqual(object?.message, "Expected a string, got an object")
  })

  it("keeps messages the schema's author wrote, clipped and escaped", () => {
    const schema = Schema.Struct({
      rounds: Schema.Number.pipe(Schema.filter((n) => n < 10, { message: () => "use fewer than 10 rounds\u202e" })),
      label: Schema.String.pipe(Schema.filter((s) => s.length < 3 || `too long: ${s}`))
    })
    assert.deepStrictEqual(issuesOf(schema, { rounds: 50, label: "z".repeat(1000) }), [
      { path: "rounds", message: "use fewer than 10 rounds\\u202e" },
      { path: "label", message: `too long: ${"z".repeat(290)}…` }
    ])
  })

  it("uses descriptions for whole unions", () => {
    const Mode = Schema.Union(Schema.Literal("a"), Schema.Struct({ b: Schema.Number })).annotations({
      description: "\"a\" or an object with b"
    })
    assert.deepStrictEqual(issuesOf(Schema.Struct({ mode: Mode }), { mode: 3 }), [
      { path: "mode", message: "Expected \"a\" or an object with b, got 3" }
    ])
  })

  it("caps and merges lists", () => {
    const issues = Array.from({ length: 5 }, (_, i) => ({ path: `f${i}`, message: "bad" }))
    assert.deepStrictEqual(Issue.cap(issues, 2), [
      { path: "f0", message: "bad" },
      { path: "f1", message: "bad" },
      { path: "(root)", message: "3 more problems were not listed" }
    ])
    assert.deepStrictEqual(
      Issue.merge([{ path: "a", message: "first" }], [
        { path: "a", message: "dup" },
        { path: "a.b", message: "below" },
        { path: "a[0]", message: "below" },
        { path: "ab", message: "kept" }
      ]),
      [{ path: "a", message: "first" }, { path: "ab", message: "kept" }]
    )
  })
})
