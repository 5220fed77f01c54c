/**
 * Editing a server or client config by identity: find a component by id or class path, change its args, replace,
 * add or remove it. Nothing is addressed by position, so a reordered template cannot make an edit land on the wrong
 * component; a selector that matches nothing, or more than one component, is an error. Configs are never mutated:
 * every function returns a new config.
 *
 * All functions are dual: `Edit.updateArgs(config, selector, patch)` or
 * `config.pipe(Edit.updateArgs(selector, patch))`-style `Edit.updateArgs(selector, patch)(config)`.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Function from "effect/Function"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { type JsonObject, type JsonValue } from "./CanonicalJson.js"
import * as Catalog from "./Catalog.js"
import type { ClientConfig } from "./ClientConfig.js"
import { Component, type IdentifiedComponent, InvalidComponent } from "./Component.js"
import { checkArgs } from "./internal/args.js"
import { effectiveId, locate, type Located } from "./internal/locate.js"
import * as Issue from "./Issue.js"
import type { ServerConfig } from "./ServerConfig.js"

/**
 * A server or client config.
 *
 * @since 0.1.0
 */
export type Config = ServerConfig | ClientConfig

/**
 * Which component: by `id` (a workflow without one is known by its class name, as in FLARE), or by class `path`.
 *
 * @since 0.1.0
 */
export type Selector = { readonly id: string } | { readonly path: string }

const describe = (selector: Selector) => ("id" in selector ? `id '${selector.id}'` : `class path '${selector.path}'`)

/**
 * No component matches the selector.
 *
 * @since 0.1.0
 */
export class ComponentNotFound extends Schema.TaggedError<ComponentNotFound>()("ComponentNotFound", {
  selector: Schema.String,
  /** The ids present, to help spot a typo. */
  available: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `no component with ${this.selector}; the config has ${
      this.available.length === 0 ? "no ids" : this.available.map((id) => `'${id}'`).join(", ")
    }`
  }
}

/**
 * More than one component matches the selector.
 *
 * @since 0.1.0
 */
export class AmbiguousComponent extends Schema.TaggedError<AmbiguousComponent>()("AmbiguousComponent", {
  selector: Schema.String,
  /** JSON paths of the matches. */
  matches: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `${this.matches.length} components match ${this.selector} (${this.matches.join(", ")}); select by id`
  }
}

/**
 * The edit would leave the config invalid (a duplicate id, no workflow left, …).
 *
 * @since 0.1.0
 */
export class InvalidEdit extends Schema.TaggedError<InvalidEdit>()("InvalidEdit", {
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid edit: ${this.reason}`
  }
}

/**
 * Any edit error.
 *
 * @since 0.1.0
 */
export type EditError = ComponentNotFound | AmbiguousComponent | InvalidEdit | InvalidComponent

/**
 * A found component and where it sits (`path` is its JSON path in the file).
 *
 * @since 0.1.0
 */
export interface Found {
  readonly component: Component
  readonly path: string
}

const matches = (selector: Selector) => (item: Located) =>
  "id" in selector ? effectiveId(item) === selector.id : item.component.path === selector.path

const isConfig = (value: unknown): value is Config =>
  typeof value === "object" && value !== null && "format_version" in value

const findLocated = (
  config: Config,
  selector: Selector
): Either.Either<Located, ComponentNotFound | AmbiguousComponent> => {
  const all = locate(config)
  const hits = all.filter(matches(selector))
  const [hit, ...more] = hits
  if (hit === undefined) {
    return Either.left(
      new ComponentNotFound({
        selector: describe(selector),
        available: all.flatMap((item) => {
          const id = effectiveId(item)
          return id === undefined ? [] : [id]
        })
      })
    )
  }
  if (more.length > 0) {
    return Either.left(
      new AmbiguousComponent({ selector: describe(selector), matches: hits.map((item) => Issue.jsonPath(item.path)) })
    )
  }
  return Either.right(hit)
}

/**
 * Finds exactly one component.
 *
 * @since 0.1.0
 */
export const find: {
  (selector: Selector): (config: Config) => Either.Either<Found, ComponentNotFound | AmbiguousComponent>
  (config: Config, selector: Selector): Either.Either<Found, ComponentNotFound | AmbiguousComponent>
} = Function.dual(
  2,
  (config: Config, selector: Selector): Either.Either<Found, ComponentNotFound | AmbiguousComponent> =>
    Either.map(
      findLocated(config, selector),
      (item) => ({ component: item.component, path: Issue.jsonPath(item.path) })
    )
)

const replaceAt = <C extends Config>(
  config: C,
  item: Located,
  next: Component | undefined
): Either.Either<C, InvalidEdit> => {
  const [list, index, , filterIndex] = item.path as readonly [string, number, string?, number?]
  const without = <A>(items: ReadonlyArray<A>, at: number): Array<A> => items.filter((_, i) => i !== at)
  const swap = <A>(items: ReadonlyArray<A>, at: number, value: A): Array<A> =>
    items.map((x, i) => (i === at ? value : x))
  switch (item.slot) {
    case "workflow": {
      const server = config as ServerConfig
      const workflows = next === undefined ? without(server.workflows, index) : swap(server.workflows, index, next)
      const [first, ...rest] = workflows
      if (first === undefined) {
        return Either.left(new InvalidEdit({ reason: "a server config needs at least one workflow" }))
      }
      return Either.right({ ...config, workflows: [first, ...rest] })
    }
    case "executor": {
      const client = config as ClientConfig
      const executors = next === undefined
        ? without(client.executors, index)
        : swap(client.executors, index, { ...client.executors[index]!, executor: next })
      const [first, ...rest] = executors
      if (first === undefined) {
        return Either.left(new InvalidEdit({ reason: "a client config needs at least one executor" }))
      }
      return Either.right({ ...config, executors: [first, ...rest] })
    }
    case "component": {
      if (next !== undefined && next.id === undefined) {
        return Either.left(new InvalidEdit({ reason: "entries of components need an id" }))
      }
      const components = next === undefined
        ? without(config.components, index)
        : swap(config.components, index, next as IdentifiedComponent)
      return Either.right({ ...config, components })
    }
    case "filter": {
      const chains = config[list as "task_data_filters" | "task_result_filters"]
      const chain = chains[index]!
      const filters = next === undefined
        ? without(chain.filters, filterIndex!)
        : swap(chain.filters, filterIndex!, next)
      const [first, ...rest] = filters
      // A chain left without filters is removed: FLARE rejects empty chains.
      const updated = first === undefined
        ? without(chains, index)
        : swap(chains, index, { ...chain, filters: [first, ...rest] })
      return Either.right({ ...config, [list]: updated })
    }
  }
}

const validateComponent = (config: Config, component: Component): Either.Either<Component, InvalidComponent> => {
  const shape = Schema.decodeUnknownEither(Component, { errors: "all" })(component)
  const entry = Catalog.byPath(component.path)
  const issues = [
    ...(Either.isLeft(shape) ? Issue.fromParseError(undefined, shape.left) : []),
    ...(Option.isSome(entry)
      ? checkArgs(entry.value, component.args, config.variables).map((issue) =>
        new Issue.Issue({ path: Issue.jsonPath(["args", ...issue.path]), message: issue.message })
      )
      : [])
  ]
  return issues.length === 0
    ? Either.right(component)
    : Either.left(new InvalidComponent({ component: component.path, issues }))
}

const isArgsUpdate = (value: unknown): value is ArgsUpdate =>
  typeof value === "function" || (typeof value === "object" && value !== null)

/**
 * New args: a patch (`undefined` removes a key, other keys are set) or a function of the current args.
 *
 * @since 0.1.0
 */
export type ArgsUpdate = { readonly [key: string]: JsonValue | undefined } | ((args: JsonObject) => JsonObject)

const applyUpdate = (args: JsonObject, update: ArgsUpdate): JsonObject => {
  if (typeof update === "function") return update(args)
  const next = new Map(Object.entries(args))
  for (const [key, value] of Object.entries(update)) {
    if (value === undefined) next.delete(key)
    else next.set(key, value)
  }
  // Own properties only: a "__proto__" key stays a key, and the args check refuses it.
  return Object.fromEntries(next)
}

/**
 * Changes one component's args. For a catalog class the new args are checked against its constructor.
 *
 * @example
 * ```ts
 * import { Edit } from "@fedkit/flare-config"
 *
 * declare const server: import("@fedkit/flare-config").ServerConfig.ServerConfig
 * const fiveRounds = Edit.updateArgs(server, { path: "nvflare.app_common.workflows.fedavg.FedAvg" }, { num_rounds: 5 })
 * ```
 *
 * @since 0.1.0
 */
export const updateArgs: {
  (selector: Selector, update: ArgsUpdate): <C extends Config>(config: C) => Either.Either<C, EditError>
  <C extends Config>(config: C, selector: Selector, update: ArgsUpdate): Either.Either<C, EditError>
} = Function.dual(
  (args) => isConfig(args[0]) && isArgsUpdate(args[2]),
  <C extends Config>(config: C, selector: Selector, update: ArgsUpdate): Either.Either<C, EditError> =>
    Either.gen(function*() {
      const item = yield* findLocated(config, selector)
      const next = yield* validateComponent(config, {
        ...item.component,
        args: applyUpdate(item.component.args, update)
      })
      return yield* replaceAt(config, item, next)
    })
)

/**
 * Replaces one component (keeping its place).
 *
 * @since 0.1.0
 */
export const replace: {
  (selector: Selector, component: Component): <C extends Config>(config: C) => Either.Either<C, EditError>
  <C extends Config>(config: C, selector: Selector, component: Component): Either.Either<C, EditError>
} = Function.dual(
  3,
  <C extends Config>(config: C, selector: Selector, component: Component): Either.Either<C, EditError> =>
    Either.gen(function*() {
      const item = yield* findLocated(config, selector)
      const next = yield* validateComponent(config, component)
      const id = effectiveId({ ...item, component: next })
      if (id !== undefined && id !== effectiveId(item) && locate(config).some((other) => effectiveId(other) === id)) {
        return yield* Either.left(new InvalidEdit({ reason: `the id '${id}' is already taken` }))
      }
      return yield* replaceAt(config, item, next)
    })
)

/**
 * Adds a component at the end of `components` (default) or, in a server config, of `workflows`.
 *
 * @since 0.1.0
 */
export const add: {
  (component: Component, options?: { readonly to?: "components" | "workflows" }): <C extends Config>(
    config: C
  ) => Either.Either<C, EditError>
  <C extends Config>(
    config: C,
    component: Component,
    options?: { readonly to?: "components" | "workflows" }
  ): Either.Either<C, EditError>
} = Function.dual(
  (args) => isConfig(args[0]),
  <C extends Config>(
    config: C,
    component: Component,
    options?: { readonly to?: "components" | "workflows" }
  ): Either.Either<C, EditError> =>
    Either.gen(function*() {
      const to = options?.to ?? "components"
      const next = yield* validateComponent(config, component)
      const id = effectiveId({ slot: to === "workflows" ? "workflow" : "component", path: [], component: next })
      if (id === undefined) return yield* Either.left(new InvalidEdit({ reason: "entries of components need an id" }))
      if (locate(config).some((other) => effectiveId(other) === id)) {
        return yield* Either.left(new InvalidEdit({ reason: `the id '${id}' is already taken` }))
      }
      if (to === "workflows") {
        if (!("workflows" in config)) {
          return yield* Either.left(new InvalidEdit({ reason: "a client config has no workflows" }))
        }
        return { ...config, workflows: [...config.workflows, next] as ServerConfig["workflows"] }
      }
      return { ...config, components: [...config.components, next as IdentifiedComponent] }
    })
)

/**
 * Removes one component. Removing a chain's last filter removes the chain; removing the last workflow or executor is
 * an error.
 *
 * @since 0.1.0
 */
export const remove: {
  (selector: Selector): <C extends Config>(config: C) => Either.Either<C, EditError>
  <C extends Config>(config: C, selector: Selector): Either.Either<C, EditError>
} = Function.dual(
  2,
  <C extends Config>(config: C, selector: Selector): Either.Either<C, EditError> =>
    Either.flatMap(findLocated(config, selector), (item) => replaceAt(config, item, undefined))
)
