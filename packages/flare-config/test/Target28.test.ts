import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Job, JobCheck } from "../src/index.js"
import * as shlex from "../src/internal/shlex.js"
import { buildJob } from "./support/fedavgJob.js"
import { allMeta, externalClient, fedAvgServer, persistor, rawJob } from "./support/rawJob.js"

const CLIENT = "app/config/config_fed_client.json"
const clientOf = (files: Readonly<Record<string, string>>) => JSON.parse(files[CLIENT]!) as Record<string, unknown>

describe("the 2.8 target", () => {
  it.effect("writes the external-process executor as ClientAPILauncherExecutor + SubprocessLauncher + CellPipe", () =>
    Effect.gen(function*() {
      const job = rawJob(allMeta, {
        app: {
          server: fedAvgServer({}, [persistor]),
          client: externalClient({
            command: ["python3", "custom/train.py", "--name", "a b"],
            heartbeat_timeout: 60,
            launch_once: false
          })
        }
      }, "2.8")
      assert.deepStrictEqual(clientOf(yield* Job.toFiles(job)), {
        format_version: 2,
        executors: [{
          tasks: ["*"],
          executor: {
            path: "nvflare.app_common.executors.client_api_launcher_executor.ClientAPILauncherExecutor",
            args: {
              pipe_id: "client_api_pipe",
              launcher_id: "client_api_launcher",
              heartbeat_timeout: 60,
              // 2.9's default exchange format is raw, 2.8's numpy: written out so the job means the same on both.
              params_exchange_format: "raw",
              server_expected_format: "numpy"
            }
          }
        }],
        components: [
          {
            id: "client_api_pipe",
            path: "nvflare.fuel.utils.pipe.cell_pipe.CellPipe",
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
            id: "client_api_launcher",
            path: "nvflare.app_common.launchers.subprocess_launcher.SubprocessLauncher",
            args: { script: "python3 custom/train.py --name 'a b'", launch_once: false }
          }
        ],
        task_data_filters: [],
        task_result_filters: []
      })
    }))

  it.effect("writes in_process as InProcessClientAPIExecutor and keeps the 2.9 form for the 2.9 target", () =>
    Effect.gen(function*() {
      const client = {
        format_version: 2,
        executors: [{
          tasks: ["train"],
          executor: {
            id: "trainer",
            path: "nvflare.app_common.executors.client_api_executor.ClientAPIExecutor",
            args: { execution_mode: "in_process", task_script_path: "train.py", params_exchange_format: "numpy" }
          }
        }]
      }
      const apps = { app: { server: fedAvgServer({}, [persistor]), client } }
      const lowered = clientOf(yield* Job.toFiles(rawJob(allMeta, apps, "2.8")))
      assert.deepStrictEqual(lowered["executors"], [{
        tasks: ["train"],
        executor: {
          id: "trainer",
          path: "nvflare.app_common.executors.in_process_client_api_executor.InProcessClientAPIExecutor",
          args: { task_script_path: "train.py", params_exchange_format: "numpy", server_expected_format: "numpy" }
        }
      }])
      assert.deepStrictEqual(clientOf(yield* Job.toFiles(rawJob(allMeta, apps, "2.9")))["executors"], client.executors)
    }))

  it("refuses 2.9 arguments whose meaning 2.8 does not have", () => {
    const job = rawJob(allMeta, {
      app: {
        server: fedAvgServer({}, [persistor]),
        client: externalClient({ stop_grace_period: 5, result_wait_timeout: 10 })
      }
    }, "2.8")
    assert.deepStrictEqual(JobCheck.check(job).map(String), [
      `${CLIENT} $.executors[0].executor.args.stop_grace_period: ClientAPIExecutor's stop_grace_period has no FLARE 2.8 equivalent (2.8 has no SIGTERM-to-SIGKILL grace period); remove it`,
      `${CLIENT} $.executors[0].executor.args.result_wait_timeout: ClientAPIExecutor's result_wait_timeout has no FLARE 2.8 equivalent (2.8's task_wait_timeout has different semantics); remove it`
    ])
  })

  it.effect("gives the same payload byte-identical 2.8 files, and a different file set than 2.9", () =>
    Effect.gen(function*() {
      const first = yield* Effect.flatMap(buildJob({ clients: 2, rounds: 3, scale: 1, target: "2.8" }), Job.toFiles)
      const second = yield* Effect.flatMap(buildJob({ clients: 2, rounds: 3, scale: 1, target: "2.8" }), Job.toFiles)
      const modern = yield* Effect.flatMap(buildJob({ clients: 2, rounds: 3, scale: 1 }), Job.toFiles)
      assert.deepStrictEqual(first, second)
      assert.notStrictEqual(first[CLIENT], modern[CLIENT])
      assert.strictEqual(first["app/config/config_fed_server.json"], modern["app/config/config_fed_server.json"])
    }))
})

describe("shlex.join", () => {
  it("quotes exactly like Python's shlex.quote", () => {
    assert.strictEqual(
      shlex.join(["python3", "-u", "custom/x.py", "--opt=a,b:c@d%e+f"]),
      "python3 -u custom/x.py --opt=a,b:c@d%e+f"
    )
    assert.strictEqual(shlex.join(["", "a b", "it's", "$HOME", "é"]), `'' 'a b' 'it'"'"'s' '$HOME' 'é'`)
  })
})
