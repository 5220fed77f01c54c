/**
 * A FLARE component config, `{ "id", "path", "args" }`: the unit every workflow, executor, filter and helper is
 * made of. Catalog builders (`Workflows`, `Executors`, …) produce these with typed args; {@link make} builds one for
 * any other class.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { JsonObject } from "./CanonicalJson.js"
import { NonEmptyString, opt } from "./internal/schemas.js"
import * as Issue from "./Issue.js"

/**
 * The pattern FLARE's component allow-list checks class paths with (`_COMPONENT_PATH_PATTERN` in
 * `nvflare/app_common/widgets/component_path_authorizer.py`): dotted Python identifiers, module and class at least.
 *
 * @since 0.1.0
 */
export const CLASS_PATH_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$/

/**
 * A fully qualified Python class path such as `nvflare.app_common.workflows.fedavg.FedAvg`, or `model.Net` for a
 * class in the app's `custom/` folder.
 *
 * @since 0.1.0
 */
export const ClassPath = Schema.String.pipe(
  Schema.filter((value) =>
    CLASS_PATH_PATTERN.test(value) ||
    `Expected a fully qualified class path (dotted Python identifiers, e.g. "package.module.Class"), actual ${
      JSON.stringify(value)
    }`
  ),
  Schema.annotations({
    identifier: "ClassPath",
    arbitrary: () => (fc) => fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,6}(?:\.[A-Za-z_][A-Za-z0-9_]{0,6}){1,3}$/)
  })
)

/**
 * A component id. FLARE accepts any non-empty string; references (`persistor_id`, …) name components by it.
 *
 * @since 0.1.0
 */
export const ComponentId = NonEmptyString.annotations({ identifier: "ComponentId" })

/**
 * A component config. `args` are the constructor's keyword arguments as JSON; a nested object with a `path` inside
 * them is built by FLARE as a component of its own. `disabled: true` makes FLARE skip the component.
 *
 * @since 0.1.0
 */
export const Component = Schema.Struct({
  id: opt(ComponentId),
  path: ClassPath,
  args: Schema.optionalWith(JsonObject, { default: () => ({}), exact: true }),
  disabled: opt(Schema.Boolean)
}).annotations({ identifier: "Component", parseOptions: { onExcessProperty: "error" } })

/**
 * @since 0.1.0
 */
export type Component = typeof Component.Type

/**
 * A component that can be referred to: entries of `components` need an id.
 *
 * @since 0.1.0
 */
export const IdentifiedComponent = Schema.Struct({
  ...Component.fields,
  id: ComponentId
}).annotations({ identifier: "IdentifiedComponent", parseOptions: { onExcessProperty: "error" } })

/**
 * @since 0.1.0
 */
export type IdentifiedComponent = typeof IdentifiedComponent.Type

/**
 * A component or its args did not validate. `component` names the class (or the path that was given).
 *
 * @since 0.1.0
 */
export class InvalidComponent extends Schema.TaggedError<InvalidComponent>()("InvalidComponent", {
  component: Schema.String,
  issues: Schema.Array(Issue.Issue)
}) {
  override get message(): string {
    return `invalid ${this.component} component: ${Issue.formatAll(this.issues)}`
  }
}

/**
 * The last segment of a class path (`FedAvg` for `nvflare.app_common.workflows.fedavg.FedAvg`), which is also the id
 * FLARE gives a workflow that has none.
 *
 * @since 0.1.0
 */
export const className = (path: string): string => path.slice(path.lastIndexOf(".") + 1)

/**
 * A generic component for a class the catalog does not cover: the class path is validated, args must be JSON.
 * Prefer the catalog builders for FLARE's own classes; they type and check the args.
 *
 * @example
 * ```ts
 * import { Component } from "@fedkit/flare-config"
 *
 * const selector = Component.make({
 *   id: "model_selector",
 *   path: "nvflare.app_common.widgets.intime_model_selector.IntimeModelSelector",
 *   args: { key_metric: "accuracy" }
 * })
 * ```
 *
 * @since 0.1.0
 */
export const make: {
  (input: MakeInput & { readonly id: string }): Either.Either<IdentifiedComponent, InvalidComponent>
  (input: MakeInput): Either.Either<Component, InvalidComponent>
} = (input: MakeInput): Either.Either<IdentifiedComponent, InvalidComponent> =>
  Schema.decodeUnknownEither(Component, { errors: "all" })(input).pipe(
    Either.mapLeft((error: ParseResult.ParseError) =>
      new InvalidComponent({ component: input.path, issues: Issue.fromParseError(undefined, error) })
    )
  ) as Either.Either<IdentifiedComponent, InvalidComponent>

/**
 * What {@link make} takes.
 *
 * @since 0.1.0
 */
export interface MakeInput {
  readonly id?: string
  readonly path: string
  readonly args?: JsonObject
  readonly disabled?: boolean
}
