/**
 * Client executors: the `{ tasks, executor }` entries of a client config and a typed builder for FLARE 2.9's
 * `ClientAPIExecutor`, the executor that runs a Client API trainer (`import nvflare.client as flare`).
 *
 * The builder takes one of three shapes, by `execution_mode`; an argument FLARE only accepts in another mode is a
 * compile error here instead of a `ValueError` when the job starts. For a 2.8 target the executor is rewritten into
 * FLARE 2.8's `ClientAPILauncherExecutor` + `SubprocessLauncher` + `CellPipe` when the files are emitted.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Component } from "./Component.js"
import { defineComponent, exact } from "./internal/entry.js"
import {
  literals,
  nonEmpty,
  NonNegativeInt,
  NonNegativeNumber,
  opt,
  PositiveNumber,
  TaskName
} from "./internal/schemas.js"

/**
 * A client config's executor entry: the executor FLARE routes the named tasks to (`"*"` and other fnmatch patterns
 * allowed).
 *
 * @since 0.1.0
 */
export const TaskExecutor = Schema.Struct({
  tasks: nonEmpty(TaskName, "FLARE needs at least one task name (\"*\" for all)"),
  executor: Component
}).annotations({ identifier: "TaskExecutor", ...exact })

/**
 * @since 0.1.0
 */
export type TaskExecutor = typeof TaskExecutor.Type

/**
 * Routes `tasks` to `executor`.
 *
 * @since 0.1.0
 */
export const assign = (tasks: readonly [string, ...Array<string>], executor: Component): TaskExecutor => ({
  tasks,
  executor
})

/**
 * How parameters are represented on each side (`nvflare.client.config.ExchangeFormat`).
 *
 * @since 0.1.0
 */
export const ExchangeFormat = literals("raw", "numpy", "pytorch", "keras_layer_weights")

/**
 * @since 0.1.0
 */
export type ExchangeFormat = typeof ExchangeFormat.Type

/**
 * Whether trainers send full parameters or differences (`nvflare.client.config.TransferType`).
 *
 * @since 0.1.0
 */
export const TransferType = literals("FULL", "DIFF")

const common = {
  task_wait_timeout: opt(Schema.NullOr(NonNegativeNumber)),
  result_wait_timeout: opt(Schema.NullOr(NonNegativeNumber)),
  train_task_name: opt(TaskName),
  evaluate_task_name: opt(TaskName),
  submit_model_task_name: opt(TaskName),
  train_with_evaluation: opt(Schema.Boolean),
  /** What `flare.receive()` hands the trainer. FLARE 2.9's default is `"raw"`: set `"numpy"` for numpy trainers. */
  params_exchange_format: opt(ExchangeFormat),
  server_expected_format: opt(ExchangeFormat),
  params_transfer_type: opt(TransferType),
  memory_gc_rounds: opt(NonNegativeInt),
  cuda_empty_cache: opt(Schema.Boolean)
}

const heartbeat = {
  heartbeat_interval: opt(PositiveNumber),
  /** `0` disables the check (external_process only). */
  heartbeat_timeout: opt(NonNegativeNumber)
}

/**
 * `execution_mode: "in_process"`: FLARE runs `custom/<task_script_path>` inside the client job process.
 *
 * @since 0.1.0
 */
export const InProcessArgs = Schema.Struct({
  execution_mode: Schema.Literal("in_process"),
  /** A `.py` file, relative to the app's `custom/` folder. */
  task_script_path: Schema.String.pipe(
    Schema.pattern(/^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$)).+\.py$/, {
      message: () => "Expected a relative path to a .py script inside custom/"
    })
  ),
  task_script_args: opt(Schema.String),
  ...common
}).annotations({ identifier: "InProcessArgs", ...exact })

/**
 * `execution_mode: "external_process"`: FLARE starts `command` (cwd = the app folder, so scripts are
 * `custom/<script>`) and talks to it over a loopback Cell session. Prefer an argv list: each element reaches the
 * trainer as one argument, no shell involved.
 *
 * @since 0.1.0
 */
export const ExternalProcessArgs = Schema.Struct({
  execution_mode: Schema.Literal("external_process"),
  command: Schema.Union(
    Schema.String.pipe(Schema.pattern(/\S/)),
    Schema.NonEmptyArray(Schema.String).pipe(Schema.filter((argv) => argv[0].trim() !== ""))
  ).annotations({
    message: () => ({
      message: "Expected a command: a non-blank string, or a list of strings whose first names a program",
      override: true
    })
  }),
  launch_once: opt(Schema.Boolean),
  /** Seconds for the trainer to complete its handshake; `null` waits forever. */
  launch_timeout: opt(Schema.NullOr(NonNegativeNumber)),
  shutdown_timeout: opt(Schema.NullOr(NonNegativeNumber)),
  stop_grace_period: opt(NonNegativeNumber),
  ...heartbeat,
  ...common
}).annotations({ identifier: "ExternalProcessArgs", ...exact })

/**
 * `execution_mode: "attach"`: a trainer started and owned by someone else attaches with `attach_id`.
 *
 * @since 0.1.0
 */
export const AttachArgs = Schema.Struct({
  execution_mode: Schema.Literal("attach"),
  attach_id: Schema.String.pipe(
    Schema.pattern(/^[A-Za-z0-9_-]{1,64}$/, { message: () => "Expected 1-64 ASCII letters, digits, '_' or '-'" })
  ),
  attach_timeout: opt(Schema.NullOr(NonNegativeNumber)),
  allow_reconnect: opt(Schema.Boolean),
  heartbeat_interval: heartbeat.heartbeat_interval,
  /** Must stay positive in attach mode: heartbeats are how FLARE notices a lost trainer. */
  heartbeat_timeout: opt(PositiveNumber),
  ...common
}).annotations({ identifier: "AttachArgs", ...exact })

type Pair = readonly [ExchangeFormat, ExchangeFormat]
// `nvflare/client/converter_utils.py` `_ADAPTER_SPECS`: numpy <-> pytorch and numpy <-> keras, both ways.
const ADAPTED: ReadonlyArray<Pair> = [["numpy", "pytorch"], ["numpy", "keras_layer_weights"]]
const supportedPair = ([a, b]: Pair): boolean =>
  a === b || a === "raw" || b === "raw" || ADAPTED.some(([x, y]) => (x === a && y === b) || (x === b && y === a))

/**
 * `nvflare.app_common.executors.client_api_executor.ClientAPIExecutor` (FLARE 2.9): the mode-specific shapes plus
 * the constructor's cross-argument rules (heartbeat interval below the timeout, a supported format pair).
 *
 * @since 0.1.0
 */
export const ClientAPIExecutorArgs = Schema.Union(InProcessArgs, ExternalProcessArgs, AttachArgs).pipe(
  Schema.filter((args) => {
    const interval = "heartbeat_interval" in args && args.heartbeat_interval !== undefined ? args.heartbeat_interval : 5
    const timeout = "heartbeat_timeout" in args && args.heartbeat_timeout !== undefined ? args.heartbeat_timeout : 30
    if (timeout > 0 && timeout <= interval) {
      return {
        path: ["heartbeat_interval"],
        message: `heartbeat_interval ${interval} must be less than heartbeat_timeout ${timeout}`
      }
    }
    const pair: Pair = [args.params_exchange_format ?? "raw", args.server_expected_format ?? "numpy"]
    return supportedPair(pair) ||
      { path: ["params_exchange_format"], message: `FLARE cannot convert parameters between ${pair[0]} and ${pair[1]}` }
  }),
  Schema.annotations({ identifier: "ClientAPIExecutorArgs" })
)

/**
 * @since 0.1.0
 */
export type ClientAPIExecutorArgs = typeof ClientAPIExecutorArgs.Type

const clientApiComponent = defineComponent({
  name: "ClientAPIExecutor",
  path: "nvflare.app_common.executors.client_api_executor.ClientAPIExecutor",
  kind: "executor",
  targets: ["2.9"],
  args: ClientAPIExecutorArgs
})

/**
 * The catalog entry for `ClientAPIExecutor`. FLARE 2.8 has no such class; a 2.8 target gets the equivalent 2.8
 * components instead.
 *
 * @since 0.1.0
 */
export const ClientAPIExecutor = clientApiComponent.entry

/**
 * A `ClientAPIExecutor`.
 *
 * @example
 * ```ts
 * import { Executors } from "@fedkit/flare-config"
 *
 * const trainer = Executors.clientApi({
 *   execution_mode: "external_process",
 *   command: ["python3", "-u", "custom/train.py", "--epochs", "2"],
 *   params_exchange_format: "numpy",
 *   server_expected_format: "numpy",
 *   params_transfer_type: "FULL"
 * })
 * ```
 *
 * @since 0.1.0
 */
export const clientApi = clientApiComponent.build
