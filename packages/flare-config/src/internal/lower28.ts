// The FLARE 2.8 form of a 2.9 ClientAPIExecutor. 2.9 has one executor with three execution modes; 2.8 runs an
// external trainer with ClientAPILauncherExecutor + SubprocessLauncher + CellPipe (what 2.8's ScriptRunner emits)
// and an in-process one with InProcessClientAPIExecutor. Arguments whose meaning changed between the releases are
// refused rather than guessed at.
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { JsonObject } from "../CanonicalJson.js"
import type { ClientConfig } from "../ClientConfig.js"
import type { Component, IdentifiedComponent } from "../Component.js"
import { ClientAPIExecutor, ClientAPIExecutorArgs } from "../Executors.js"
import { Issue, jsonPath } from "../Issue.js"
import { CellPipe, ClientAPILauncherExecutor, InProcessClientAPIExecutor, SubprocessLauncher } from "./legacy28.js"
import * as shlex from "./shlex.js"

// Carried over unchanged: same name, same meaning in 2.8.1.
const SHARED = [
  "train_task_name",
  "evaluate_task_name",
  "submit_model_task_name",
  "train_with_evaluation",
  "params_transfer_type",
  "memory_gc_rounds",
  "cuda_empty_cache"
] as const

const NO_EQUIVALENT: Readonly<Record<string, string>> = {
  launch_timeout: "2.9 bounds the trainer handshake, 2.8 the launcher call",
  stop_grace_period: "2.8 has no SIGTERM-to-SIGKILL grace period",
  task_wait_timeout: "2.8 has no bound on the trainer accepting a task",
  result_wait_timeout: "2.8's task_wait_timeout has different semantics"
}

const pick = (args: JsonObject, names: ReadonlyArray<string>): Record<string, JsonObject[string]> => {
  const out: Record<string, JsonObject[string]> = {}
  for (const name of names) {
    const value = args[name]
    if (value !== undefined) out[name] = value
  }
  return out
}

export interface Lowered {
  readonly config: ClientConfig
  readonly issues: ReadonlyArray<Issue>
}

// The component set 2.8's ScriptRunner writes for an external trainer: a pipe, a launcher, and the executor using them.
const externalProcess = (
  executor: Component,
  command: string | ReadonlyArray<string>,
  formats: JsonObject,
  suffix: string
): { readonly executor: Component; readonly components: ReadonlyArray<IdentifiedComponent> } => {
  const pipeId = `client_api_pipe${suffix}`
  const launcherId = `client_api_launcher${suffix}`
  const components: ReadonlyArray<IdentifiedComponent> = [
    {
      id: pipeId,
      path: CellPipe.path,
      // FLARE fills the {…} system variables per site.
      args: {
        mode: "PASSIVE",
        site_name: "{SITE_NAME}",
        token: "{JOB_ID}",
        root_url: "{CP_URL}",
        secure_mode: "{SECURE_MODE}",
        workspace_dir: "{WORKSPACE}"
      }
    },
    {
      id: launcherId,
      path: SubprocessLauncher.path,
      args: {
        script: typeof command === "string" ? command : shlex.join(command),
        ...pick(executor.args, ["launch_once", "shutdown_timeout"])
      }
    }
  ]
  return {
    components,
    executor: {
      ...(executor.id === undefined ? {} : { id: executor.id }),
      path: ClientAPILauncherExecutor.path,
      args: {
        pipe_id: pipeId,
        launcher_id: launcherId,
        ...pick(executor.args, ["heartbeat_interval", "heartbeat_timeout"]),
        ...formats
      }
    }
  }
}

export const lowerClient = (config: ClientConfig, file: string): Lowered => {
  const issues: Array<Issue> = []
  const added: Array<IdentifiedComponent> = []
  const clientApiCount = config.executors.filter((entry) => entry.executor.path === ClientAPIExecutor.path).length
  const executors = config.executors.map((entry, index) => {
    const executor = entry.executor
    if (executor.path !== ClientAPIExecutor.path) return entry
    const argsPath = ["executors", index, "executor", "args"]
    const refuse = (arg: string, message: string) =>
      issues.push(new Issue({ file, path: jsonPath([...argsPath, arg]), message }))
    // Invalid args are reported by the job check; nothing sensible can be emitted for them.
    const decoded = Schema.decodeUnknownEither(ClientAPIExecutorArgs)(executor.args)
    if (Either.isLeft(decoded)) return entry
    const args = decoded.right
    for (const [arg, why] of Object.entries(NO_EQUIVALENT)) {
      if (arg in executor.args) {
        refuse(arg, `ClientAPIExecutor's ${arg} has no FLARE 2.8 equivalent (${why}); remove it`)
      }
    }
    const formats = {
      // 2.9 defaults to raw, 2.8 to numpy: the 2.9 meaning is kept by writing it out.
      params_exchange_format: args.params_exchange_format ?? "raw",
      server_expected_format: args.server_expected_format ?? "numpy",
      ...pick(executor.args, SHARED)
    }
    const keepId = executor.id === undefined ? {} : { id: executor.id }
    switch (args.execution_mode) {
      case "attach": {
        refuse("execution_mode", "execution_mode \"attach\" needs FLARE 2.9; 2.8 can only launch the trainer itself")
        return entry
      }
      case "in_process": {
        const lowered: Component = {
          ...keepId,
          path: InProcessClientAPIExecutor.path,
          args: { ...pick(executor.args, ["task_script_path", "task_script_args"]), ...formats }
        }
        return { ...entry, executor: lowered }
      }
      case "external_process": {
        const lowered = externalProcess(executor, args.command, formats, clientApiCount > 1 ? `_${index}` : "")
        added.push(...lowered.components)
        return { ...entry, executor: lowered.executor }
      }
    }
  })
  const [first, ...rest] = executors
  return first === undefined ? { config, issues } : {
    config: { ...config, executors: [first, ...rest], components: [...config.components, ...added] },
    issues
  }
}
