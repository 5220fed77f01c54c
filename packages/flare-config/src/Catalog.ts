/**
 * The FLARE classes this package knows: for each, its class path, the arguments its constructor takes (as a Schema),
 * which targets have it, and which arguments name other components. Job checks use it to validate the args of
 * every known component, decoded or built, and to follow references.
 *
 * The integration tests hold this table against the installed nvflare: every class path imports and every argument
 * name is a parameter of the constructor.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as SchemaAST from "effect/SchemaAST"
import * as Aggregators from "./Aggregators.js"
import * as Executors from "./Executors.js"
import * as Filters from "./Filters.js"
import type { FlareTarget } from "./FlareTarget.js"
import type * as internal from "./internal/entry.js"
import * as legacy28 from "./internal/legacy28.js"
import * as Persistors from "./Persistors.js"
import * as Widgets from "./Widgets.js"
import * as Workflows from "./Workflows.js"

/**
 * A catalog entry.
 *
 * @since 0.1.0
 */
export type Entry = internal.Entry

/**
 * What a component is to FLARE: it decides where the component may sit and what a reference may point at.
 *
 * @since 0.1.0
 */
export type Kind = internal.Kind

/**
 * An argument that names another component by id, with the id FLARE uses when the argument is absent.
 *
 * @since 0.1.0
 */
export type Reference = internal.Reference

/**
 * Every entry: the public builders' classes, then FLARE 2.8's Client API classes (which a 2.8 target is given).
 *
 * @since 0.1.0
 */
export const entries: ReadonlyArray<Entry> = [
  Workflows.FedAvg,
  Workflows.ScatterAndGather,
  Workflows.CrossSiteModelEval,
  Aggregators.InTimeAccumulateWeightedAggregator,
  Aggregators.FullModelShareableGenerator,
  Persistors.NPModelPersistor,
  Persistors.NPModelLocator,
  Widgets.ValidationJsonGenerator,
  Executors.ClientAPIExecutor,
  Filters.ExcludeVars,
  Filters.PercentilePrivacy,
  legacy28.ClientAPILauncherExecutor,
  legacy28.InProcessClientAPIExecutor,
  legacy28.SubprocessLauncher,
  legacy28.CellPipe
]

const byPathIndex: ReadonlyMap<string, Entry> = new Map(entries.map((entry) => [entry.path, entry]))

/**
 * The entry for a class path, if the catalog has one.
 *
 * @since 0.1.0
 */
export const byPath = (path: string): Option.Option<Entry> => Option.fromNullable(byPathIndex.get(path))

/**
 * Class paths of FLARE 2.8's Client API stack that nvflare 2.9 removed.
 *
 * @since 0.1.0
 */
export const removedIn29: ReadonlyArray<string> = legacy28.removedIn29

const propertyNames = (ast: SchemaAST.AST): ReadonlyArray<string> => {
  switch (ast._tag) {
    case "TypeLiteral":
      return ast.propertySignatures.map((signature) => String(signature.name))
    case "Union":
      return [...new Set(ast.types.flatMap(propertyNames))]
    case "Suspend":
      return propertyNames(ast.f())
    default:
      return []
  }
}

/**
 * Every argument name the entry's builder (or FLARE 2.8 rewrite) can emit for `target`.
 *
 * @since 0.1.0
 */
export const argNames = (entry: Entry, target: FlareTarget): ReadonlyArray<string> =>
  propertyNames(Schema.encodedSchema(entry.args).ast)
    .filter((name) => target === "2.9" || !entry.since29.includes(name))
    .sort()
