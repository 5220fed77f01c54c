/**
 * Server workflows (FLARE controllers): `FedAvg`, `ScatterAndGather`, `CrossSiteModelEval`. Argument names and types
 * are those of the constructors in nvflare 2.9.0 (`nvflare/app_common/workflows/`); an argument marked 2.9-only is
 * rejected when the job targets 2.8.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { JsonObject } from "./CanonicalJson.js"
import { Component } from "./Component.js"
import { defineComponent } from "./internal/entry.js"
import {
  NonEmptyString,
  NonNegativeInt,
  NonNegativeNumber,
  opt,
  PositiveInt,
  PositiveNumber,
  record,
  RelativePath,
  TaskName
} from "./internal/schemas.js"

// `parse_compare_criteria` splits on single spaces into exactly three tokens and reads the last with float().
const StopCondition = Schema.String.pipe(
  Schema.pattern(/^[^ ]+ (?:>=|<=|>|<|=) [+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/, {
    message: () => `Expected "<metric> <op> <number>" with op one of >=, <=, >, <, = (e.g. "accuracy >= 0.8")`
  })
)

const fedAvgComponent = defineComponent({
  name: "FedAvg",
  path: "nvflare.app_common.workflows.fedavg.FedAvg",
  kind: "controller",
  fields: {
    num_clients: opt(PositiveInt),
    num_rounds: opt(PositiveInt),
    start_round: opt(NonNegativeInt),
    memory_gc_rounds: opt(NonNegativeInt),
    persistor_id: opt(Schema.String),
    ignore_result_error: opt(Schema.NullOr(Schema.Boolean)),
    allow_empty_global_weights: opt(Schema.Boolean),
    task_check_period: opt(PositiveNumber),
    /** Initial model: a dict of parameters, or a nested component config (`{ "path": "model.Net", "args": {} }`). */
    model: opt(Schema.NullOr(JsonObject)),
    /** Under the run directory (FLARE does not stop `..` here; this does). */
    save_filename: opt(RelativePath),
    /** A `ModelAggregator` component config (FLModel-based; not `InTimeAccumulateWeightedAggregator`). */
    aggregator: opt(Schema.NullOr(Component)),
    stop_cond: opt(Schema.NullOr(StopCondition)),
    patience: opt(Schema.NullOr(PositiveInt)),
    task_name: opt(TaskName),
    /** A regular expression (Python `re`) of parameter names to leave out of the average. */
    exclude_vars: opt(Schema.NullOr(Schema.String)),
    aggregation_weights: opt(Schema.NullOr(record(Schema.Finite))),
    enable_tensor_disk_offload: opt(Schema.Boolean),
    /** nvflare 2.9 only. */
    fedprox_mu: opt(Schema.NullOr(NonNegativeNumber))
  },
  since29: ["fedprox_mu"],
  references: [{ arg: "persistor_id", kind: "persistor", fallback: "persistor" }]
})

/**
 * `nvflare.app_common.workflows.fedavg.FedAvg` (with the arguments of its bases `BaseFedAvg`, `ModelController`
 * and `BaseModelController`). FLModel-based FedAvg: each round samples `num_clients` connected clients, waits for all
 * of them, and averages on arrival. `persistor_id` defaults to `"persistor"` in FLARE; `""` means no persistor.
 *
 * @since 0.1.0
 */
export const FedAvgArgs = fedAvgComponent.args

/**
 * @since 0.1.0
 */
export type FedAvgArgs = typeof FedAvgArgs.Type

/**
 * The catalog entry for `FedAvg`: class path, argument schema, references.
 *
 * @since 0.1.0
 */
export const FedAvg = fedAvgComponent.entry

/**
 * A `FedAvg` workflow.
 *
 * @example
 * ```ts
 * import { Workflows } from "@fedkit/flare-config"
 *
 * const fedAvg = Workflows.fedAvg({ num_clients: 2, num_rounds: 3, persistor_id: "persistor" }, { id: "fedavg" })
 * ```
 *
 * @since 0.1.0
 */
export const fedAvg = fedAvgComponent.build

const scatterAndGatherComponent = defineComponent({
  name: "ScatterAndGather",
  path: "nvflare.app_common.workflows.scatter_and_gather.ScatterAndGather",
  kind: "controller",
  fields: {
    min_clients: PositiveInt,
    num_rounds: opt(PositiveInt),
    start_round: opt(NonNegativeInt),
    wait_time_after_min_received: opt(NonNegativeInt),
    aggregator_id: opt(Schema.String),
    persistor_id: opt(Schema.String),
    shareable_generator_id: opt(Schema.String),
    train_task_name: opt(TaskName),
    train_timeout: opt(NonNegativeInt),
    ignore_result_error: opt(Schema.NullOr(Schema.Boolean)),
    allow_empty_global_weights: opt(Schema.Boolean),
    task_check_period: opt(PositiveNumber),
    persist_every_n_rounds: opt(NonNegativeInt),
    snapshot_every_n_rounds: opt(NonNegativeInt),
    memory_gc_rounds: opt(NonNegativeInt),
    /** nvflare 2.9 only. */
    enable_tensor_disk_offload: opt(Schema.Boolean)
  },
  since29: ["enable_tensor_disk_offload"],
  references: [
    { arg: "aggregator_id", kind: "aggregator", fallback: "aggregator" },
    { arg: "persistor_id", kind: "persistor", fallback: "" },
    { arg: "shareable_generator_id", kind: "shareable_generator", fallback: "shareable_generator" }
  ]
})

/**
 * `nvflare.app_common.workflows.scatter_and_gather.ScatterAndGather`: the DXO/Shareable FedAvg. It needs an
 * aggregator, a shareable generator and usually a persistor, named by id. `min_clients` is required here because
 * FLARE's default (1000) makes a job wait forever.
 *
 * @since 0.1.0
 */
export const ScatterAndGatherArgs = scatterAndGatherComponent.args

/**
 * @since 0.1.0
 */
export type ScatterAndGatherArgs = typeof ScatterAndGatherArgs.Type

/**
 * The catalog entry for `ScatterAndGather`: class path, argument schema, references.
 *
 * @since 0.1.0
 */
export const ScatterAndGather = scatterAndGatherComponent.entry

/**
 * A `ScatterAndGather` workflow.
 *
 * @since 0.1.0
 */
export const scatterAndGather = scatterAndGatherComponent.build

const crossSiteModelEvalComponent = defineComponent({
  name: "CrossSiteModelEval",
  path: "nvflare.app_common.workflows.cross_site_model_eval.CrossSiteModelEval",
  kind: "controller",
  fields: {
    /** FLARE requires a Python float; it is written with a fraction (`1.0`) even when whole. */
    task_check_period: opt(PositiveNumber),
    cross_val_dir: opt(RelativePath),
    submit_model_timeout: opt(NonNegativeInt),
    validation_timeout: opt(NonNegativeInt),
    model_locator_id: opt(Schema.String),
    formatter_id: opt(Schema.String),
    submit_model_task_name: opt(TaskName),
    validation_task_name: opt(TaskName),
    cleanup_models: opt(Schema.Boolean),
    participating_clients: opt(Schema.NullOr(Schema.Array(NonEmptyString))),
    wait_for_clients_timeout: opt(NonNegativeNumber)
  },
  floats: ["task_check_period"],
  references: [
    { arg: "model_locator_id", kind: "model_locator", fallback: "" },
    { arg: "formatter_id", fallback: "" }
  ]
})

/**
 * `nvflare.app_common.workflows.cross_site_model_eval.CrossSiteModelEval`. Clients must handle `submit_model` and
 * `validate`; server models come from the component named by `model_locator_id` (e.g. `Persistors.npModelLocator`).
 *
 * @since 0.1.0
 */
export const CrossSiteModelEvalArgs = crossSiteModelEvalComponent.args

/**
 * @since 0.1.0
 */
export type CrossSiteModelEvalArgs = typeof CrossSiteModelEvalArgs.Type

/**
 * The catalog entry for `CrossSiteModelEval`: class path, argument schema, references.
 *
 * @since 0.1.0
 */
export const CrossSiteModelEval = crossSiteModelEvalComponent.entry

/**
 * A `CrossSiteModelEval` workflow.
 *
 * @since 0.1.0
 */
export const crossSiteModelEval = crossSiteModelEvalComponent.build
