import * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as SchemaAST from "effect/SchemaAST"
import { JsonObject, type JsonValue } from "../CanonicalJson.js"
import {
  Component as ComponentSchema,
  IdentifiedComponent as IdentifiedComponentSchema,
  InvalidComponent
} from "../Component.js"
import type { Component, IdentifiedComponent } from "../Component.js"
import type { FlareTarget } from "../FlareTarget.js"
import * as Issue from "../Issue.js"
import { markChecked } from "./checked.js"
import * as FastValidate from "./fastValidate.js"

/**
 * What a component is to FLARE, which decides where it may sit (workflows hold controllers, executors executors,
 * filter chains filters) and what a reference may point at.
 */
export type Kind =
  | "controller"
  | "executor"
  | "filter"
  | "persistor"
  | "aggregator"
  | "shareable_generator"
  | "model_locator"
  | "widget"
  | "launcher"
  | "pipe"

/** An argument that names another component by id; `fallback` is the id FLARE uses when the argument is absent. */
export interface Reference {
  readonly arg: string
  readonly kind?: Kind
  readonly fallback?: string
}

// Generic over any schema so a struct of generic fields fits; the catalog holds context-free ones only.
export interface Entry<S extends Schema.Schema.Any = Schema.Schema.AnyNoContext> {
  /** The class name, as in FLARE's messages. */
  readonly name: string
  readonly path: string
  readonly kind: Kind
  /** The targets whose nvflare has this class. */
  readonly targets: ReadonlyArray<FlareTarget>
  /** Every argument the builder may emit, with FLARE's names and the types FLARE's constructor accepts. */
  readonly args: S
  /** Arguments that only exist from nvflare 2.9 on. */
  readonly since29: ReadonlyArray<string>
  readonly references: ReadonlyArray<Reference>
  /** Arguments the constructor checks with `isinstance(x, float)`: written with a fraction. */
  readonly floats: ReadonlyArray<string>
  readonly defaultId?: string
}

export const entry = <
  S extends Schema.Schema.AnyNoContext,
  D extends Omit<Entry<S>, "since29" | "references" | "floats" | "targets"> & Partial<Entry<S>>
>(
  definition: D & { readonly args: S }
): Entry<S> & D => ({ since29: [], references: [], floats: [], targets: ["2.9", "2.8"], ...definition })

/** Exact objects: an argument FLARE's constructor does not have is an error, not a silently ignored key. */
export const exact = { parseOptions: { onExcessProperty: "error" } } as const

/**
 * Args a builder checked against an entry's schema, by the entry. They are frozen (`JsonObject` copies and freezes),
 * and only kept when they hold no `{`, so no config variable can change what FLARE reads: the whole-job check of
 * their constructor args (`checkArgs`) would check the same value with the same schema, and trusts them instead.
 */
const builtArgs = new WeakMap<JsonObject, Entry>()

const mentionsVariable = (value: JsonValue): boolean =>
  typeof value === "string"
    ? value.includes("{")
    : Array.isArray(value)
    ? (value as ReadonlyArray<JsonValue>).some(mentionsVariable)
    : value !== null && typeof value === "object"
    ? Object.values(value).some(mentionsVariable)
    : false

/**
 * Whether `args` are what a builder made: frozen and holding no `{`, so FLARE's variable rewrites leave them as they
 * are (there is nothing to resolve in them and no reference to check).
 */
export const isBuiltWithoutVariables = (args: JsonObject): boolean => builtArgs.has(args)

/** Whether `args` are what a builder made and checked for `entry`. */
export const isBuiltFor = (entry: Entry, args: JsonObject): boolean => builtArgs.get(args) === entry

/**
 * Whether a schema's values are their own encoded form: no transformation anywhere in it. Declarations are opaque
 * (they may transform), so they count as transforming.
 */
const transformsNothing = (ast: SchemaAST.AST, seen: Set<SchemaAST.AST> = new Set()): boolean => {
  if (seen.has(ast)) return true
  seen.add(ast)
  switch (ast._tag) {
    case "Transformation":
    case "Declaration":
      return false
    case "Refinement":
      return transformsNothing(ast.from, seen)
    case "Suspend":
      return transformsNothing(ast.f(), seen)
    case "Union":
      return ast.types.every((type) => transformsNothing(type, seen))
    case "TupleType":
      return ast.elements.every((element) => transformsNothing(element.type, seen)) &&
        ast.rest.every((rest) => transformsNothing(rest.type, seen))
    case "TypeLiteral":
      return ast.propertySignatures.every((property) => transformsNothing(property.type, seen)) &&
        ast.indexSignatures.every((index) => transformsNothing(index.type, seen))
    default:
      return true
  }
}

const checkers = new WeakMap<Entry, (args: unknown) => Either.Either<unknown, ParseResult.ParseError>>()

/**
 * How a builder checks typed args, once per entry. Args whose schema transforms nothing are their own JSON form:
 * validating them is the same check as encoding them, and costs half as much (encoding a union tests each member).
 */
const checkerOf = (definition: Entry) => {
  let check = checkers.get(definition)
  if (check === undefined) {
    const schema = definition.args
    check = transformsNothing(schema.ast)
      ? FastValidate.validateEither(schema, { errors: "all" })
      : FastValidate.encodeUnknownEither(schema, { errors: "all" })
    checkers.set(definition, check)
  }
  return check
}

/** Checked args as FLARE's JSON: a frozen copy (see `CanonicalJson.JsonObject`). */
const toJsonObject = FastValidate.decodeUnknownEither(JsonObject)

/** Checks typed args against the entry's schema and turns them into a component config. */
const build = <S extends Schema.Schema.AnyNoContext>(
  definition: Entry<S>,
  args: Schema.Schema.Type<S>,
  options?: { readonly id?: string }
): Either.Either<Component, InvalidComponent> =>
  checkerOf(definition)(args).pipe(
    Either.flatMap(toJsonObject),
    Either.mapBoth({
      onLeft: (error) =>
        new InvalidComponent({ component: definition.name, issues: Issue.fromParseError(undefined, error) }),
      onRight: (encoded) => {
        if (!mentionsVariable(encoded)) builtArgs.set(encoded, definition)
        const id = options?.id ?? definition.defaultId
        return markChecked(ComponentSchema, {
          ...(id === undefined ? {} : { id }),
          path: definition.path,
          args: encoded
        })
      }
    })
  )

// Components that live in `components` need an id: the given one or the entry's default.
const identified = (component: Component, defaultId: string): IdentifiedComponent =>
  markChecked(
    ComponentSchema,
    markChecked(IdentifiedComponentSchema, { ...component, id: component.id ?? defaultId })
  )

/** What a builder made by {@link defineComponent} returns: an identified component when the entry has a default id. */
export type Built<D> = D extends { readonly defaultId: string } ? IdentifiedComponent : Component

/** A builder's signature: the args may be left out when every one of them is optional. */
export type Builder<A, D> = Record<string, never> extends A
  ? (args?: A, options?: { readonly id?: string }) => Either.Either<Built<D>, InvalidComponent>
  : (args: A, options?: { readonly id?: string }) => Either.Either<Built<D>, InvalidComponent>

/** A component declaration: its catalog entry's facts, with its args as struct fields or (for unions) a schema. */
export type Declaration<S extends Schema.Schema.Any> =
  & Omit<Entry<S>, "args" | "since29" | "references" | "floats" | "targets">
  & Partial<Pick<Entry<S>, "since29" | "references" | "floats" | "targets">>

/**
 * One declaration of a catalog component, from which a component module derives its four exports: the args schema
 * (`<name>Args`, an exact struct when given fields), its type, the catalog entry and the builder (which gives the
 * entry's default id, if any, to a component without one).
 */
export function defineComponent<
  Fields extends Schema.Struct.Fields,
  const D extends Declaration<Schema.Struct<Fields>>
>(
  declaration: D & { readonly fields: Fields }
): DefinedComponent<Schema.Struct<Fields>, D>
export function defineComponent<S extends Schema.Schema.AnyNoContext, const D extends Declaration<S>>(
  declaration: D & { readonly args: S }
): DefinedComponent<S, D>
export function defineComponent(
  declaration: Declaration<Schema.Schema.AnyNoContext> & {
    readonly fields?: Readonly<Record<string, Schema.Schema.AnyNoContext>>
    readonly args?: Schema.Schema.AnyNoContext
  }
): DefinedComponent<Schema.Schema.Any, Declaration<Schema.Schema.Any>> {
  const { args: schema, fields, ...facts } = declaration
  const args = schema ??
    Schema.Struct(fields ?? {}).annotations({ identifier: `${declaration.name}Args`, ...exact })
  const defined = entry({ ...facts, args })
  const { defaultId } = defined
  const builder = (typed: unknown = {}, options?: { readonly id?: string }) => {
    const built = build(defined, typed, options)
    return defaultId === undefined ? built : Either.map(built, (component) => identified(component, defaultId))
  }
  return { args, entry: defined, build: builder }
}

/** What {@link defineComponent} derives. */
export interface DefinedComponent<S extends Schema.Schema.Any, D> {
  readonly args: S
  readonly entry: Entry<S> & D
  readonly build: Builder<Schema.Schema.Type<S>, D>
}
