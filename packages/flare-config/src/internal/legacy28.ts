// FLARE 2.8's Client API execution stack (removed in 2.9). No public builders: a 2.8 target gets these from the
// ClientAPIExecutor rewrite (./lower28.ts), and a decoded 2.8 job is checked against them. Argument names and types
// are those of the nvflare 2.8.1 constructors.
import * as Schema from "effect/Schema"
import { ExchangeFormat, TransferType } from "../Executors.js"
import { entry, exact } from "./entry.js"
import {
  literals,
  NonEmptyString,
  NonNegativeInt,
  NonNegativeNumber,
  opt,
  PositiveInt,
  PositiveNumber,
  RelativePath,
  TaskName
} from "./schemas.js"

const formats = {
  params_exchange_format: opt(ExchangeFormat),
  server_expected_format: opt(ExchangeFormat),
  params_transfer_type: opt(TransferType),
  train_with_evaluation: opt(Schema.Boolean),
  train_task_name: opt(TaskName),
  evaluate_task_name: opt(TaskName),
  submit_model_task_name: opt(TaskName),
  from_nvflare_converter_id: opt(Schema.NullOr(Schema.String)),
  to_nvflare_converter_id: opt(Schema.NullOr(Schema.String)),
  memory_gc_rounds: opt(NonNegativeInt),
  cuda_empty_cache: opt(Schema.Boolean)
}

const converterReferences = [
  { arg: "from_nvflare_converter_id" },
  { arg: "to_nvflare_converter_id" }
] as const

export const ClientAPILauncherExecutor = entry({
  name: "ClientAPILauncherExecutor",
  path: "nvflare.app_common.executors.client_api_launcher_executor.ClientAPILauncherExecutor",
  kind: "executor",
  targets: ["2.8"],
  args: Schema.Struct({
    pipe_id: NonEmptyString,
    launcher_id: opt(Schema.NullOr(Schema.String)),
    launch_timeout: opt(Schema.NullOr(NonNegativeNumber)),
    task_wait_timeout: opt(Schema.NullOr(NonNegativeNumber)),
    last_result_transfer_timeout: opt(NonNegativeNumber),
    external_pre_init_timeout: opt(NonNegativeNumber),
    peer_read_timeout: opt(Schema.NullOr(PositiveNumber)),
    monitor_interval: opt(PositiveNumber),
    read_interval: opt(PositiveNumber),
    heartbeat_interval: opt(PositiveNumber),
    heartbeat_timeout: opt(Schema.NullOr(NonNegativeNumber)),
    workers: opt(PositiveInt),
    config_file_name: opt(NonEmptyString),
    submit_result_timeout: opt(PositiveNumber),
    // 2.8.1 rejects null at initialization although its own examples write it.
    max_resends: opt(NonNegativeInt),
    download_complete_timeout: opt(PositiveNumber),
    ...formats
  }).annotations({ identifier: "ClientAPILauncherExecutorArgs", ...exact }),
  references: [
    { arg: "pipe_id", kind: "pipe" },
    { arg: "launcher_id", kind: "launcher" },
    ...converterReferences
  ]
})

export const InProcessClientAPIExecutor = entry({
  name: "InProcessClientAPIExecutor",
  path: "nvflare.app_common.executors.in_process_client_api_executor.InProcessClientAPIExecutor",
  kind: "executor",
  targets: ["2.8"],
  args: Schema.Struct({
    task_script_path: RelativePath,
    task_script_args: opt(Schema.String),
    task_wait_time: opt(Schema.NullOr(PositiveNumber)),
    result_pull_interval: opt(PositiveNumber),
    log_pull_interval: opt(Schema.NullOr(PositiveNumber)),
    ...formats
  }).annotations({ identifier: "InProcessClientAPIExecutorArgs", ...exact }),
  references: converterReferences
})

export const SubprocessLauncher = entry({
  name: "SubprocessLauncher",
  path: "nvflare.app_common.launchers.subprocess_launcher.SubprocessLauncher",
  kind: "launcher",
  targets: ["2.8"],
  args: Schema.Struct({
    /** Split with Python's `shlex.split` and run without a shell. */
    script: Schema.String.pipe(Schema.pattern(/\S/)),
    launch_once: opt(Schema.NullOr(Schema.Boolean)),
    clean_up_script: opt(Schema.NullOr(Schema.String)),
    shutdown_timeout: opt(Schema.NullOr(NonNegativeNumber))
  }).annotations({ identifier: "SubprocessLauncherArgs", ...exact })
})

export const CellPipe = entry({
  name: "CellPipe",
  path: "nvflare.fuel.utils.pipe.cell_pipe.CellPipe",
  kind: "pipe",
  targets: ["2.8"],
  args: Schema.Struct({
    mode: literals("PASSIVE", "ACTIVE"),
    site_name: Schema.String,
    token: Schema.String,
    root_url: opt(Schema.String),
    secure_mode: opt(Schema.Boolean),
    workspace_dir: opt(Schema.String)
  }).annotations({ identifier: "CellPipeArgs", ...exact })
})

/** Classes of the 2.8 Client API stack that nvflare 2.9 no longer has, beyond the ones above. */
export const removedIn29: ReadonlyArray<string> = [
  ClientAPILauncherExecutor.path,
  InProcessClientAPIExecutor.path,
  SubprocessLauncher.path,
  CellPipe.path,
  "nvflare.app_common.executors.launcher_executor.LauncherExecutor",
  "nvflare.app_common.executors.task_exchanger.TaskExchanger",
  "nvflare.fuel.utils.pipe.file_pipe.FilePipe",
  "nvflare.app_common.widgets.external_configurator.ExternalConfigurator",
  "nvflare.app_opt.pt.client_api_launcher_executor.PTClientAPILauncherExecutor",
  "nvflare.app_opt.tf.client_api_launcher_executor.TFClientAPILauncherExecutor",
  "nvflare.app_opt.pt.in_process_client_api_executor.PTInProcessClientAPIExecutor",
  "nvflare.app_opt.tf.in_process_client_api_executor.TFInProcessClientAPIExecutor"
]
