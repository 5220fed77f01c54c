// A fast path for `Schema.validateEither`, `decodeUnknownEither` and `encodeUnknownEither`: the walk Effect's parser
// does (same checks, same transformations, same output: fresh objects and arrays, excess properties handled as the
// parse options say), compiled once per schema into plain functions that return the output or `FAIL`, without an
// Either, an issue or an options merge per node. Anything it does not model exactly (a declaration or transformation
// that answers with an Effect, a union two members of which accept the input with different outputs, template
// literals, `propertyOrder`) is `FAIL`, and so is every invalid input: the caller then runs Effect's own parser, which
// reports the issues. So the fast path only ever decides "valid, and this is the output", which Effect's parser would
// have decided too (test/FastValidate.test.ts checks that they agree).
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"

const FAIL: unique symbol = Symbol("FAIL")

type Fast = (input: unknown) => unknown

type Options = SchemaAST.ParseOptions

const merge = (options: Options, override: Options | undefined): Options =>
  override === undefined ? options : { ...options, ...override }

/** Decoding (validating is decoding a Type side) or encoding, as Effect's parser does. */
type Mode = "decode" | "encode"

/** One compiled function per node, mode and options (a node annotated with parse options changes them below it). */
const compiled = new WeakMap<SchemaAST.AST, Map<string, Fast>>()

const cacheKey = (mode: Mode, options: Options) =>
  `${mode}|${options.onExcessProperty ?? "ignore"}|${options.exact === true}|${options.propertyOrder ?? "none"}`

const compile = (ast: SchemaAST.AST, inherited: Options, mode: Mode): Fast => {
  const options = merge(inherited, Option.getOrUndefined(SchemaAST.getParseOptionsAnnotation(ast)))
  const key = cacheKey(mode, options)
  let byOptions = compiled.get(ast)
  if (byOptions === undefined) {
    byOptions = new Map()
    compiled.set(ast, byOptions)
  }
  const existing = byOptions.get(key)
  if (existing !== undefined) return existing
  // Set before compiling the node, so a recursive schema (through Suspend) finds itself.
  let self: Fast = () => FAIL
  byOptions.set(key, (input) => self(input))
  self = node(ast, options, mode)
  byOptions.set(key, self)
  return self
}

const guard = (is: (input: unknown) => boolean): Fast => (input) => is(input) ? input : FAIL

/** The keywords Effect's parser checks with a predicate, and those predicates. */
const KEYWORDS = {
  UndefinedKeyword: Predicate.isUndefined,
  StringKeyword: Predicate.isString,
  NumberKeyword: Predicate.isNumber,
  BooleanKeyword: Predicate.isBoolean,
  BigIntKeyword: Predicate.isBigInt,
  SymbolKeyword: Predicate.isSymbol,
  ObjectKeyword: Predicate.isObject
} as const

const node = (ast: SchemaAST.AST, options: Options, mode: Mode): Fast => {
  if (options.propertyOrder !== undefined) return () => FAIL
  switch (ast._tag) {
    case "Literal":
      return guard((input) => input === ast.literal)
    case "UniqueSymbol":
      return guard((input) => input === ast.symbol)
    case "UndefinedKeyword":
    case "StringKeyword":
    case "NumberKeyword":
    case "BooleanKeyword":
    case "BigIntKeyword":
    case "SymbolKeyword":
    case "ObjectKeyword":
      return guard(KEYWORDS[ast._tag])
    case "NeverKeyword":
      return () => FAIL
    case "UnknownKeyword":
    case "AnyKeyword":
    case "VoidKeyword":
      return (input) => input
    case "Enums":
      return guard((input) => ast.enums.some(([, value]) => value === input))
    case "Refinement": {
      if (mode === "encode") return encodeRefined(ast, options)
      const from = compile(ast.from, options, mode)
      return (input) => {
        const output = from(input)
        return output !== FAIL && Option.isNone(ast.filter(output, options, ast)) ? output : FAIL
      }
    }
    case "Declaration": {
      const parse = mode === "decode"
        ? ast.decodeUnknown(...ast.typeParameters)
        : ast.encodeUnknown(...ast.typeParameters)
      return (input) => {
        const result: unknown = parse(input, options, ast)
        return Either.isEither(result) && Either.isRight(result) ? result.right : FAIL
      }
    }
    case "Suspend": {
      let target: Fast | undefined
      return (input) => (target ??= compile(ast.f(), options, mode))(input)
    }
    case "Transformation":
      return transformation(ast, options, mode)
    case "TupleType":
      return tuple(ast, options, mode)
    case "TypeLiteral":
      return typeLiteral(ast, options, mode)
    case "Union":
      return union(ast, options, mode)
    case "TemplateLiteral":
      return () => FAIL
  }
}

/** Encoding a refined value: the value is checked as a whole (its Type side), then what it refines is encoded. */
const encodeRefined = (ast: SchemaAST.Refinement, options: Options): Fast => {
  const check = compile(SchemaAST.typeAST(ast), options, "decode")
  let unrefined: SchemaAST.AST = ast.from
  while (SchemaAST.isRefinement(unrefined)) unrefined = unrefined.from
  const encode = compile(unrefined, options, "encode")
  return (input) => {
    const checked = check(input)
    return checked === FAIL ? FAIL : encode(checked)
  }
}

/** Properties whose value is made from what the input holds (`optionalWith(…, { default })`, renames). */
const moveProperties =
  (ast: SchemaAST.TypeLiteralTransformation, mode: Mode) => (input: Record<PropertyKey, unknown>) => {
    for (const property of ast.propertySignatureTransformations) {
      const [from, to, move] = mode === "decode"
        ? [property.from, property.to, property.decode]
        : [property.to, property.from, property.encode]
      const value = move(Object.prototype.hasOwnProperty.call(input, from) ? Option.some(input[from]) : Option.none())
      delete input[from]
      if (Option.isSome(value)) input[to] = value.value
    }
    return input
  }

// A Type side has no transformations: this is decoding or encoding.
const transformation = (ast: SchemaAST.Transformation, options: Options, mode: Mode): Fast => {
  const from = mode === "decode" ? compile(ast.from, options, mode) : compile(ast.to, options, mode)
  const to = mode === "decode" ? compile(ast.to, options, mode) : compile(ast.from, options, mode)
  const step = ast.transformation
  switch (step._tag) {
    case "ComposeTransformation":
      return (input) => {
        const decoded = from(input)
        return decoded === FAIL ? FAIL : to(decoded)
      }
    case "TypeLiteralTransformation": {
      const move = moveProperties(step, mode)
      return (input) => {
        // The struct parser made a fresh object, which Effect's own transformation changes in place too.
        const decoded = from(input)
        return decoded === FAIL ? FAIL : to(move(decoded as Record<PropertyKey, unknown>))
      }
    }
    case "FinalTransformation":
      return (input) => {
        const decoded = from(input)
        if (decoded === FAIL) return FAIL
        const result: unknown = (mode === "decode" ? step.decode : step.encode)(decoded, options, ast, input)
        return Either.isEither(result) && Either.isRight(result) ? to(result.right) : FAIL
      }
  }
}

const tuple = (ast: SchemaAST.TupleType, options: Options, mode: Mode): Fast => {
  const elements = ast.elements.map((element) => compile(element.type, options, mode))
  const [rest, ...tail] = ast.rest.map((rest) => compile(rest.type, options, mode))
  // Elements after a rest element (`[...string[], number]`) are rare: Effect's parser handles them.
  if (tail.length > 0) return () => FAIL
  const required = ast.elements.filter((element) => !element.isOptional).length
  return (input) => {
    if (!Array.isArray(input) || input.length < required) return FAIL
    if (rest === undefined && input.length > elements.length) return FAIL
    const output: Array<unknown> = []
    let index = 0
    for (; index < elements.length && index < input.length; index++) {
      const item = elements[index]!(input[index])
      if (item === FAIL) return FAIL
      output.push(item)
    }
    if (rest !== undefined) {
      for (; index < input.length; index++) {
        const item = rest(input[index])
        if (item === FAIL) return FAIL
        output.push(item)
      }
    }
    return output
  }
}

const keysFor = (parameter: SchemaAST.AST): "string" | "symbol" | undefined =>
  parameter._tag === "StringKeyword" || parameter._tag === "TemplateLiteral"
    ? "string"
    : parameter._tag === "SymbolKeyword"
    ? "symbol"
    : parameter._tag === "Refinement"
    ? keysFor(parameter.from)
    : undefined

const typeLiteral = (ast: SchemaAST.TypeLiteral, options: Options, mode: Mode): Fast => {
  if (ast.propertySignatures.length === 0 && ast.indexSignatures.length === 0) return guard(Predicate.isNotNullable)
  const properties = ast.propertySignatures.map((property) => ({
    name: property.name,
    isOptional: property.isOptional,
    parse: compile(property.type, options, mode)
  }))
  const known = new Set<PropertyKey>(properties.map((property) => property.name))
  const indexes = ast.indexSignatures.map((index) => ({
    keys: keysFor(index.parameter),
    parameter: compile(index.parameter, options, mode),
    parse: compile(index.type, options, mode)
  }))
  const exact = options.exact === true
  const onExcess = options.onExcessProperty ?? "ignore"
  const isExpected = (key: PropertyKey) => known.has(key) || indexes.some((index) => index.parameter(key) !== FAIL)
  return (input) => {
    if (!Predicate.isRecord(input)) return FAIL
    const record = input as Record<PropertyKey, unknown>
    const output: Record<PropertyKey, unknown> = {}
    if (onExcess !== "ignore") {
      for (const key of Reflect.ownKeys(record)) {
        if (isExpected(key)) continue
        if (onExcess === "error") return FAIL
        output[key] = record[key]
      }
    }
    for (const property of properties) {
      const hasKey = Object.prototype.hasOwnProperty.call(record, property.name)
      if (!hasKey && (property.isOptional || exact)) {
        if (property.isOptional) continue
        return FAIL
      }
      const value = property.parse(record[property.name])
      if (value === FAIL) return FAIL
      output[property.name] = value
    }
    for (const index of indexes) {
      if (index.keys === undefined) return FAIL
      const keys = index.keys === "string" ? Object.keys(record) : Object.getOwnPropertySymbols(record)
      for (const key of keys) {
        if (index.parameter(key) === FAIL) continue
        const value = index.parse(record[key])
        if (value === FAIL) return FAIL
        if (!known.has(key)) output[key] = value
      }
    }
    return output
  }
}

const union = (ast: SchemaAST.Union, options: Options, mode: Mode): Fast => {
  const literals = ast.types.flatMap((member) => SchemaAST.isLiteral(member) ? [member.literal] : [])
  if (literals.length === ast.types.length) {
    const allowed = new Set<unknown>(literals)
    return guard((input) => allowed.has(input))
  }
  const members = ast.types.map((member) => compile(member, options, mode))
  // Effect tries members in an order of its own and keeps the first that accepts: when two accept the input, the
  // answer is only known here if they agree on the output (a primitive, or the input itself).
  return (input) => {
    let found: unknown = FAIL
    for (const member of members) {
      const output = member(input)
      if (output === FAIL) continue
      if (found !== FAIL && found !== output) return FAIL
      found = output
    }
    return found
  }
}

const withFallback = <A, E>(
  fast: Fast,
  slow: (input: unknown) => Either.Either<A, E>
) =>
(input: unknown): Either.Either<A, E> => {
  const output = fast(input)
  return output === FAIL ? slow(input) : Either.right(output as A)
}

/**
 * `Schema.decodeUnknownEither(schema, options)`, through the fast path when it decides (see above), else through
 * Effect's parser, which reports the issues.
 */
export const decodeUnknownEither = <A, I>(schema: Schema.Schema<A, I>, options: Options = {}) =>
  withFallback(compile(schema.ast, options, "decode"), Schema.decodeUnknownEither(schema, options))

/**
 * `ParseResult.decodeUnknownEither(schema, options)`, the same way: a failure is the parse issue itself, so a
 * rejected input costs no `ParseError` (and no stack trace).
 */
export const decodeUnknownIssueEither = <A, I>(schema: Schema.Schema<A, I>, options: Options = {}) =>
  withFallback(compile(schema.ast, options, "decode"), ParseResult.decodeUnknownEither(schema, options))

/** `Schema.encodeUnknownEither(schema, options)`, the same way. */
export const encodeUnknownEither = <A, I>(schema: Schema.Schema<A, I>, options: Options = {}) =>
  withFallback<I, ParseResult.ParseError>(
    compile(schema.ast, options, "encode"),
    Schema.encodeUnknownEither(schema, options)
  )

/** `Schema.validateEither(schema, options)`, the same way. */
export const validateEither = <A, I>(schema: Schema.Schema<A, I>, options: Options = {}) =>
  withFallback(compile(SchemaAST.typeAST(schema.ast), options, "decode"), Schema.validateEither(schema, options))

/** `Schema.is(schema, options)` (which checks with `exact: true` unless told otherwise), the same way. */
export const is = <A, I>(schema: Schema.Schema<A, I>, options: Options = {}) => {
  const fast = compile(SchemaAST.typeAST(schema.ast), { exact: true, ...options }, "decode")
  const slow = Schema.is(schema, options)
  return (input: unknown): input is A => fast(input) !== FAIL || slow(input)
}
