// Jobs written as raw FLARE JSON, the way a hand-made job folder holds them, decoded through Job.fromFiles.
import * as Either from "effect/Either"
import { type FlareTarget, Job, JobCheck } from "../../src/index.js"

export interface RawApp {
  readonly server?: unknown
  readonly client?: unknown
  readonly custom?: Readonly<Record<string, string>>
}

export const rawFiles = (meta: unknown, apps: Readonly<Record<string, RawApp>>): Record<string, string> => {
  const files: Record<string, string> = { "meta.json": JSON.stringify(meta) }
  for (const [name, app] of Object.entries(apps)) {
    if (app.server !== undefined) files[`${name}/config/config_fed_server.json`] = JSON.stringify(app.server)
    if (app.client !== undefined) files[`${name}/config/config_fed_client.json`] = JSON.stringify(app.client)
    for (const [path, text] of Object.entries(app.custom ?? {})) files[`${name}/custom/${path}`] = text
  }
  return files
}

export const rawJob = (
  meta: unknown,
  apps: Readonly<Record<string, RawApp>>,
  target?: FlareTarget.FlareTarget
): Job.FlareJob =>
  Either.getOrThrowWith(
    Job.fromFiles(rawFiles(meta, apps), target === undefined ? undefined : { target }),
    (error) => new Error(error.message)
  )

/** `file path: message` lines, as a reader would see them. */
export const issueLines = (job: Job.FlareJob): Array<string> => JobCheck.check(job).map(String)

export const fedAvgServer = (args: Record<string, unknown> = {}, components: ReadonlyArray<unknown> = []) => ({
  format_version: 2,
  workflows: [{ id: "fedavg", path: "nvflare.app_common.workflows.fedavg.FedAvg", args: { num_clients: 2, ...args } }],
  components
})

export const persistor = { id: "persistor", path: "nvflare.app_common.np.np_model_persistor.NPModelPersistor" }

export const externalClient = (args: Record<string, unknown> = {}) => ({
  format_version: 2,
  executors: [{
    tasks: ["*"],
    executor: {
      path: "nvflare.app_common.executors.client_api_executor.ClientAPIExecutor",
      args: { execution_mode: "external_process", command: ["python3", "custom/train.py"], ...args }
    }
  }]
})

export const allMeta = { name: "job", deploy_map: { app: ["@ALL"] }, min_clients: 2 }
