// Builder calls that set every argument a catalog entry knows, with values its constructor must accept. The engine
// test instantiates each emitted component in the installed nvflare.
import * as Effect from "effect/Effect"
import { Aggregators, Executors, Filters, Persistors, Widgets, Workflows } from "../../src/index.js"

const common = {
  task_wait_timeout: 60,
  result_wait_timeout: null,
  train_task_name: "train",
  evaluate_task_name: "validate",
  submit_model_task_name: "submit_model",
  train_with_evaluation: false,
  params_exchange_format: "numpy",
  server_expected_format: "numpy",
  params_transfer_type: "DIFF",
  memory_gc_rounds: 2,
  cuda_empty_cache: false
} as const

export const samples = Effect.all([
  Workflows.fedAvg({
    num_clients: 2,
    num_rounds: 3,
    start_round: 0,
    memory_gc_rounds: 1,
    persistor_id: "persistor",
    ignore_result_error: null,
    allow_empty_global_weights: false,
    task_check_period: 1,
    model: { numpy_key: [1, 2] },
    save_filename: "global.npy",
    aggregator: null,
    stop_cond: "accuracy >= 0.8",
    patience: 2,
    task_name: "train",
    exclude_vars: "bias.*",
    aggregation_weights: { "site-1": 1, "site-2": 0.5 },
    enable_tensor_disk_offload: false,
    fedprox_mu: 0.01
  }),
  Workflows.scatterAndGather({
    min_clients: 2,
    num_rounds: 3,
    start_round: 0,
    wait_time_after_min_received: 0,
    aggregator_id: "aggregator",
    persistor_id: "persistor",
    shareable_generator_id: "shareable_generator",
    train_task_name: "train",
    train_timeout: 0,
    ignore_result_error: true,
    allow_empty_global_weights: false,
    task_check_period: 0.5,
    persist_every_n_rounds: 1,
    snapshot_every_n_rounds: 1,
    memory_gc_rounds: 1,
    enable_tensor_disk_offload: false
  }),
  // task_check_period 1 is whole: FLARE's isinstance(float) check only passes because it is written as 1.0.
  Workflows.crossSiteModelEval({
    task_check_period: 1,
    cross_val_dir: "cross_site_val",
    submit_model_timeout: 600,
    validation_timeout: 6000,
    model_locator_id: "model_locator",
    formatter_id: "",
    submit_model_task_name: "submit_model",
    validation_task_name: "validate",
    cleanup_models: false,
    participating_clients: ["site-1"],
    wait_for_clients_timeout: 300
  }),
  Aggregators.inTimeAccumulateWeightedAggregator({
    exclude_vars: "bias",
    aggregation_weights: { "site-1": 1 },
    expected_data_kind: "WEIGHTS",
    weigh_by_local_iter: true
  }),
  Aggregators.fullModelShareableGenerator(),
  Persistors.npModelPersistor({
    model_dir: "models",
    model_name: "server.npy",
    model: [[1, 2], [3, 4]],
    source_ckpt_file_full_name: null
  }),
  Persistors.npModelLocator({ model_dir: "models", model_name: { server: "server.npy" } }),
  Widgets.validationJsonGenerator({ results_dir: "cross_site_val", json_file_name: "results.json" }),
  Executors.clientApi({
    execution_mode: "external_process",
    command: ["python3", "-u", "custom/train.py"],
    launch_once: true,
    launch_timeout: 120,
    shutdown_timeout: 10,
    stop_grace_period: 5,
    heartbeat_interval: 2,
    heartbeat_timeout: 20,
    ...common
  }),
  Executors.clientApi({
    execution_mode: "in_process",
    task_script_path: "train.py",
    task_script_args: "--epochs 1",
    ...common
  }),
  Executors.clientApi({
    execution_mode: "attach",
    attach_id: "trainer-1",
    attach_timeout: 30,
    allow_reconnect: true,
    heartbeat_interval: 2,
    heartbeat_timeout: 20,
    ...common
  }),
  Filters.excludeVars({ exclude_vars: ["bias"], data_kinds: ["WEIGHTS"] }),
  Filters.excludeVars({ exclude_vars: "conv.*" }),
  Filters.percentilePrivacy({ percentile: 10, gamma: 0.01, data_kinds: ["WEIGHT_DIFF", "WEIGHTS"] })
])
