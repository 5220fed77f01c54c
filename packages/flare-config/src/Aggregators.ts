/**
 * `ScatterAndGather`'s server-side helpers: the `InTimeAccumulateWeightedAggregator` and the
 * `FullModelShareableGenerator`. Argument names and types are those of nvflare 2.9.0.
 *
 * @since 0.1.0
 */
import type * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { IdentifiedComponent, InvalidComponent } from "./Component.js"
import { defineComponent } from "./internal/entry.js"
import { literals, opt, record } from "./internal/schemas.js"

/**
 * The DXO data kinds the aggregator accepts (`nvflare.apis.dxo.DataKind`). Use `WEIGHTS` when clients send full
 * parameters, `WEIGHT_DIFF` when they send differences.
 *
 * @since 0.1.0
 */
export const AggregatedDataKind = literals("WEIGHTS", "WEIGHT_DIFF", "METRICS")

const Weights = record(Schema.Finite)

const inTimeAccumulateWeightedAggregatorComponent = defineComponent({
  name: "InTimeAccumulateWeightedAggregator",
  path: "nvflare.app_common.aggregators.intime_accumulate_model_aggregator.InTimeAccumulateWeightedAggregator",
  kind: "aggregator",
  fields: {
    exclude_vars: opt(
      Schema.NullOr(Schema.Union(Schema.String, record(Schema.String)))
    ),
    aggregation_weights: opt(
      Schema.NullOr(Schema.Union(Weights, record(Weights)))
    ),
    expected_data_kind: opt(
      Schema.Union(AggregatedDataKind, record(AggregatedDataKind))
    ),
    weigh_by_local_iter: opt(Schema.Boolean)
  },
  defaultId: "aggregator"
})

/**
 * `nvflare.app_common.aggregators.intime_accumulate_model_aggregator.InTimeAccumulateWeightedAggregator`. A DXO
 * `Aggregator` for `ScatterAndGather`; `FedAvg` takes a `ModelAggregator` instead.
 *
 * @since 0.1.0
 */
export const InTimeAccumulateWeightedAggregatorArgs = inTimeAccumulateWeightedAggregatorComponent.args

/**
 * @since 0.1.0
 */
export type InTimeAccumulateWeightedAggregatorArgs = typeof InTimeAccumulateWeightedAggregatorArgs.Type

/**
 * The catalog entry for `InTimeAccumulateWeightedAggregator`.
 *
 * @since 0.1.0
 */
export const InTimeAccumulateWeightedAggregator = inTimeAccumulateWeightedAggregatorComponent.entry

/**
 * An `InTimeAccumulateWeightedAggregator`, id `"aggregator"` unless given (`ScatterAndGather`'s default).
 *
 * @since 0.1.0
 */
export const inTimeAccumulateWeightedAggregator = inTimeAccumulateWeightedAggregatorComponent.build

const fullModelShareableGeneratorComponent = defineComponent({
  name: "FullModelShareableGenerator",
  path: "nvflare.app_common.shareablegenerators.full_model_shareable_generator.FullModelShareableGenerator",
  kind: "shareable_generator",
  fields: {},
  defaultId: "shareable_generator"
})

/**
 * `FullModelShareableGenerator` takes no arguments.
 *
 * @since 0.1.0
 */
export const FullModelShareableGeneratorArgs = fullModelShareableGeneratorComponent.args

/**
 * The catalog entry for
 * `nvflare.app_common.shareablegenerators.full_model_shareable_generator.FullModelShareableGenerator`.
 *
 * @since 0.1.0
 */
export const FullModelShareableGenerator = fullModelShareableGeneratorComponent.entry

/**
 * A `FullModelShareableGenerator`, id `"shareable_generator"` unless given (`ScatterAndGather`'s default).
 *
 * @since 0.1.0
 */
export const fullModelShareableGenerator = (
  options?: { readonly id?: string }
): Either.Either<IdentifiedComponent, InvalidComponent> => fullModelShareableGeneratorComponent.build({}, options)
