import { describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import { Catalog, ClientConfig, Job, JobMeta, ServerConfig } from "../src/index.js"
import * as FastValidate from "../src/internal/fastValidate.js"

// The fast path must never decide differently from Effect's parser: same verdict, same output.
const options = [{ errors: "all", onExcessProperty: "error" }, { errors: "all" }, { exact: true }] as const

const mutated = <A>(valid: FastCheck.Arbitrary<A>): FastCheck.Arbitrary<unknown> =>
  FastCheck.tuple(valid, FastCheck.string({ maxLength: 3 }), FastCheck.anything({ maxDepth: 2 })).map(
    ([value, key, replacement]) => {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return replacement
      const keys = Object.keys(value)
      const target = keys.length > 0 && key.length % 2 === 0 ? keys[key.length % keys.length]! : key
      return { ...value, [target]: replacement }
    }
  )

// A few args schemas hold patterns fast-check cannot generate from (lookaheads): their fields get arbitrary values.
const arbitraryOf = <A, I>(schema: Schema.Schema<A, I>): FastCheck.Arbitrary<unknown> => {
  try {
    return Arbitrary.make(Schema.typeSchema(schema))
  } catch {
    const ast = SchemaAST.typeAST(schema.ast)
    const names = SchemaAST.isTypeLiteral(ast) ? ast.propertySignatures.map((property) => String(property.name)) : []
    return FastCheck.record(Object.fromEntries(names.map((name) => [name, FastCheck.anything({ maxDepth: 2 })])), {
      requiredKeys: []
    })
  }
}

/** `Schema.is` as a parse: the input when it passes. */
const verdict = (is: (input: unknown) => boolean) => (input: unknown): Either.Either<unknown, string> =>
  is(input) ? Either.right(input) : Either.left("refused")

/** What a failure says: the whole issue tree, so failures are compared in full, not only as failures. */
const failure = (error: unknown): string =>
  ParseResult.isParseError(error)
    ? error.message
    : typeof error === "string"
    ? error
    : ParseResult.TreeFormatter.formatIssueSync(error as ParseResult.ParseIssue)

// Valid values (and for decoding their encoded form), each also with one field changed, and arbitrary values: for
// validation, decoding (to a ParseError and to the bare issue), encoding and `is`, under each set of options; the
// failures too, issue for issue.
const agree = <A, I>(schema: Schema.Schema<A, I>, runs: number) => {
  const valid = arbitraryOf(schema)
  const encode = Schema.encodeUnknownOption(schema)
  const encoded = valid.map((value) => Option.getOrElse(encode(value), () => value))
  type Parse = (input: unknown) => Either.Either<unknown, unknown>
  const modes: ReadonlyArray<
    (option: SchemaAST.ParseOptions) => readonly [Parse, Parse, FastCheck.Arbitrary<unknown>]
  > = [
    (option) => [FastValidate.validateEither(schema, option), Schema.validateEither(schema, option), valid],
    (option) => [FastValidate.decodeUnknownEither(schema, option), Schema.decodeUnknownEither(schema, option), encoded],
    (option) => [FastValidate.encodeUnknownEither(schema, option), Schema.encodeUnknownEither(schema, option), valid],
    (option) => [
      FastValidate.decodeUnknownIssueEither(schema, option),
      ParseResult.decodeUnknownEither(schema, option),
      encoded
    ],
    (option) => [verdict(FastValidate.is(schema, option)), verdict(Schema.is(schema, option)), valid]
  ]
  for (const [fast, slow, arbitrary] of options.flatMap((option) => modes.map((mode) => mode(option)))) {
    const inputs = FastCheck.oneof(arbitrary, mutated(arbitrary), FastCheck.anything({ maxDepth: 3 }))
    FastCheck.assert(
      FastCheck.property(inputs, (input) => {
        const expected = slow(input)
        const actual = fast(input)
        expect(Either.isRight(actual)).toBe(Either.isRight(expected))
        if (Either.isRight(actual) && Either.isRight(expected)) expect(actual.right).toStrictEqual(expected.right)
        if (Either.isLeft(actual) && Either.isLeft(expected)) expect(failure(actual.left)).toBe(failure(expected.left))
      }),
      { numRuns: runs }
    )
  }
}

describe("FastValidate", () => {
  it("agrees with Effect's parser on every catalog component's args", () => {
    for (const entry of Catalog.entries) agree(entry.args, 25)
  })

  // One test per schema: generating whole configs is slow, and a worker busy for long starves vitest's RPC.
  it("agrees with Effect's parser on meta.json", () => agree(JobMeta.JobMeta, 20))
  it("agrees with Effect's parser on server configs", () => agree(ServerConfig.ServerConfig, 8))
  it("agrees with Effect's parser on client configs", () => agree(ClientConfig.ClientConfig, 8))
  it("agrees with Effect's parser on whole jobs", () => agree(Job.FlareJob, 2))

  it("agrees on what Effect decides its own way: optional and missing keys, excess keys, unions, tuples", () => {
    const Shape = Schema.Struct({
      a: Schema.Union(Schema.Undefined, Schema.String),
      b: Schema.optionalWith(Schema.Number, { exact: true }),
      pair: Schema.optionalWith(Schema.Tuple(Schema.String, Schema.optionalElement(Schema.Number)), { exact: true }),
      either: Schema.optionalWith(
        Schema.Union(Schema.Struct({ x: Schema.String }), Schema.Struct({ x: Schema.String, y: Schema.Number })),
        { exact: true }
      )
    })
    for (
      const input of [
        {},
        { a: undefined },
        { a: "x", b: 1, extra: true },
        { a: "x", pair: ["p"] },
        { a: "x", pair: ["p", 1, 2] },
        { a: "x", pair: ["p", "q"] },
        { a: "x", either: { x: "1", y: 2 } },
        { a: "x", either: { x: "1" } },
        { a: "x", [Symbol.for("s")]: 1 },
        [],
        null
      ]
    ) {
      for (const option of options) {
        const expected = Schema.validateEither(Shape, option)(input)
        const actual = FastValidate.validateEither(Shape, option)(input)
        expect(Either.isRight(actual)).toBe(Either.isRight(expected))
        if (Either.isRight(actual) && Either.isRight(expected)) expect(actual.right).toStrictEqual(expected.right)
      }
    }
  })
})
