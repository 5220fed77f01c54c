/**
 * Task data and task result filters: the `{ tasks, filters, direction }` chains of a config, and builders for
 * FLARE's privacy filters `ExcludeVars` and `PercentilePrivacy` (nvflare 2.9.0, `nvflare/app_common/filters/`).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Component } from "./Component.js"
import { defineComponent, exact } from "./internal/entry.js"
import { literals, nonEmpty, opt, TaskName } from "./internal/schemas.js"

/**
 * Which way a chain filters. FLARE's defaults: on the server, data `out` and results `in`; on a client, data `in`
 * and results `out`.
 *
 * @since 0.1.0
 */
export const Direction = literals("in", "out", "inout")

/**
 * @since 0.1.0
 */
export type Direction = typeof Direction.Type

/**
 * A filter chain: the filters FLARE runs, in order, on the named tasks' data or results.
 *
 * @since 0.1.0
 */
export const FilterChain = Schema.Struct({
  tasks: nonEmpty(TaskName, "FLARE needs at least one task name"),
  filters: nonEmpty(Component, "FLARE rejects a filter chain without filters"),
  direction: opt(Direction)
}).annotations({ identifier: "FilterChain", ...exact })

/**
 * @since 0.1.0
 */
export type FilterChain = typeof FilterChain.Type

/**
 * A filter chain for `tasks`.
 *
 * @since 0.1.0
 */
export const chain = (
  tasks: readonly [string, ...Array<string>],
  filters: readonly [Component, ...Array<Component>],
  direction?: Direction
): FilterChain => ({ tasks, filters, ...(direction === undefined ? {} : { direction }) })

/**
 * The DXO kinds FLARE's privacy filters can process.
 *
 * @since 0.1.0
 */
export const FilteredDataKind = literals("WEIGHTS", "WEIGHT_DIFF")

const excludeVarsComponent = defineComponent({
  name: "ExcludeVars",
  path: "nvflare.app_common.filters.exclude_vars.ExcludeVars",
  kind: "filter",
  fields: {
    exclude_vars: opt(Schema.NullOr(Schema.Union(Schema.Array(Schema.String), Schema.String))),
    data_kinds: opt(Schema.NullOr(Schema.Array(FilteredDataKind)))
  }
})

/**
 * `nvflare.app_common.filters.exclude_vars.ExcludeVars`: drops parameters by name (a list) or by regular expression
 * (a string).
 *
 * @since 0.1.0
 */
export const ExcludeVarsArgs = excludeVarsComponent.args

/**
 * @since 0.1.0
 */
export type ExcludeVarsArgs = typeof ExcludeVarsArgs.Type

/**
 * The catalog entry for `ExcludeVars`.
 *
 * @since 0.1.0
 */
export const ExcludeVars = excludeVarsComponent.entry

/**
 * An `ExcludeVars` filter.
 *
 * @since 0.1.0
 */
export const excludeVars = excludeVarsComponent.build

const percentilePrivacyComponent = defineComponent({
  name: "PercentilePrivacy",
  path: "nvflare.app_common.filters.percentile_privacy.PercentilePrivacy",
  kind: "filter",
  fields: {
    /** 0 to 100 (FLARE refuses other values when filtering). */
    percentile: opt(Schema.Int.pipe(Schema.between(0, 100))),
    /** Positive (FLARE refuses other values when filtering). */
    gamma: opt(Schema.Finite.pipe(Schema.positive())),
    data_kinds: opt(Schema.NullOr(Schema.Array(FilteredDataKind)))
  }
})

/**
 * `nvflare.app_common.filters.percentile_privacy.PercentilePrivacy`: shares only the differences above the
 * `percentile`-th percentile, clipped to `gamma`.
 *
 * @since 0.1.0
 */
export const PercentilePrivacyArgs = percentilePrivacyComponent.args

/**
 * @since 0.1.0
 */
export type PercentilePrivacyArgs = typeof PercentilePrivacyArgs.Type

/**
 * The catalog entry for `PercentilePrivacy`.
 *
 * @since 0.1.0
 */
export const PercentilePrivacy = percentilePrivacyComponent.entry

/**
 * A `PercentilePrivacy` filter.
 *
 * @since 0.1.0
 */
export const percentilePrivacy = percentilePrivacyComponent.build
