import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { Job, JobCheck } from "../src/index.js"
import { buildJob } from "./support/fedavgJob.js"
import { allMeta, externalClient, fedAvgServer, issueLines, persistor, rawJob } from "./support/rawJob.js"

const SERVER = "app/config/config_fed_server.json"
const CLIENT = "app/config/config_fed_client.json"
const valid = { server: fedAvgServer({}, [persistor]), client: externalClient() }

describe("JobCheck", () => {
  it.effect("passes the builders' FedAvg job for both layouts and both targets", () =>
    Effect.gen(function*() {
      for (const layout of ["all", "named"] as const) {
        for (const target of ["2.9", "2.8"] as const) {
          const job = yield* buildJob({ clients: 3, rounds: 2, scale: 1, layout, target })
          assert.deepStrictEqual(JobCheck.check(job), [])
        }
      }
    }))

  it("passes a hand-written valid job", () => {
    assert.deepStrictEqual(issueLines(rawJob(allMeta, { app: valid })), [])
  })

  it("finds dangling references, including FLARE's implicit defaults, disabled targets and wrong kinds", () => {
    const sag = {
      format_version: 2,
      workflows: [{
        path: "nvflare.app_common.workflows.scatter_and_gather.ScatterAndGather",
        args: { min_clients: 2, persistor_id: "persister", shareable_generator_id: "gen" }
      }],
      components: [
        { id: "gen", path: "nvflare.app_common.np.np_model_persistor.NPModelPersistor" },
        { ...persistor, disabled: true }
      ]
    }
    assert.deepStrictEqual(issueLines(rawJob(allMeta, { app: { server: sag, client: externalClient() } })), [
      `${SERVER} $.workflows[0].path: ScatterAndGather's aggregator_id names component 'aggregator', which does not exist (aggregator_id defaults to "aggregator"; set it to "" if none is wanted)`,
      `${SERVER} $.workflows[0].args.persistor_id: ScatterAndGather's persistor_id names component 'persister', which does not exist`,
      `${SERVER} $.workflows[0].args.shareable_generator_id: ScatterAndGather's shareable_generator_id names 'gen', a NPModelPersistor (persistor), not a shareable generator`
    ])
    assert.deepStrictEqual(
      issueLines(
        rawJob(allMeta, {
          app: { server: fedAvgServer({}, [{ ...persistor, disabled: true }]), client: externalClient() }
        })
      ),
      [`${SERVER} $.workflows[0].path: FedAvg's persistor_id names component 'persistor', which is disabled`]
    )
    assert.deepStrictEqual(
      issueLines(rawJob(allMeta, { app: { server: fedAvgServer({ persistor_id: "" }), client: externalClient() } })),
      []
    )
  })

  it("resolves config variables the way FLARE does before checking", () => {
    const server = {
      ...fedAvgServer({ persistor_id: "{which}", num_rounds: "{rounds}" }, [persistor]),
      which: "persistor",
      rounds: 0
    }
    assert.deepStrictEqual(issueLines(rawJob(allMeta, { app: { server, client: externalClient() } })), [
      `${SERVER} $.workflows[0].args.num_rounds: FedAvg: Expected a positive integer`
    ])
    const unknown = fedAvgServer({ persistor_id: "{missing}" }, [persistor])
    assert.deepStrictEqual(issueLines(rawJob(allMeta, { app: { server: unknown, client: externalClient() } })), [
      `${SERVER} $.workflows[0].args.persistor_id: FLARE would replace "{missing}" with null: no config variable is named 'missing'`,
      `${SERVER} $.workflows[0].args.persistor_id: FedAvg: Expected string, actual null`
    ])
  })

  it("refuses strings that would pull the site's environment into the job", () => {
    const server = fedAvgServer({ model: { w: "{$AWS_SECRET_ACCESS_KEY}" } }, [persistor])
    assert.deepStrictEqual(issueLines(rawJob(allMeta, { app: { server, client: externalClient() } })), [
      `${SERVER} $.workflows[0].args.model.w: FLARE would replace {$AWS_SECRET_ACCESS_KEY} with the site's environment variable; a job must not read the site environment`
    ])
  })

  it("checks catalog args of decoded components against the constructor, at their paths", () => {
    const client = externalClient({ launch_once: "yes", stop_grace_period: -1, task_script_path: "x.py" })
    assert.deepStrictEqual(issueLines(rawJob(allMeta, { app: { server: valid.server, client } })), [
      `${CLIENT} $.executors[0].executor.args.task_script_path: ClientAPIExecutor: is unexpected, expected: "execution_mode" | "command" | "launch_once" | "launch_timeout" | "shutdown_timeout" | "stop_grace_period" | "heartbeat_interval" | "heartbeat_timeout" | "task_wait_timeout" | "result_wait_timeout" | "train_task_name" | "evaluate_task_name" | "submit_model_task_name" | "train_with_evaluation" | "params_exchange_format" | "server_expected_format" | "params_transfer_type" | "memory_gc_rounds" | "cuda_empty_cache"`,
      `${CLIENT} $.executors[0].executor.args.launch_once: ClientAPIExecutor: Expected boolean, actual "yes"`,
      `${CLIENT} $.executors[0].executor.args.stop_grace_period: ClientAPIExecutor: Expected a number greater than or equal to 0`
    ])
  })

  it("enforces FLARE's start-time rules: unique ids, one executor per task, one chain per task, one ClientAPIExecutor", () => {
    const server = {
      ...fedAvgServer({}, [persistor, { id: "fedavg", path: "a.B" }]),
      task_result_filters: [
        { tasks: ["train"], filters: [{ path: "nvflare.app_common.filters.exclude_vars.ExcludeVars" }] },
        {
          tasks: ["train", "validate"],
          filters: [{ path: "nvflare.app_common.filters.exclude_vars.ExcludeVars" }],
          direction: "inout"
        }
      ]
    }
    const base = externalClient()
    const client = {
      ...base,
      executors: [...base.executors, { tasks: ["train", "*"], executor: base.executors[0]!.executor }]
    }
    assert.deepStrictEqual(issueLines(rawJob(allMeta, { app: { server, client } })), [
      `${SERVER} $.components[1].id: duplicate component id 'fedavg' (also at $.workflows[0])`,
      `${SERVER} $.task_result_filters[1].tasks: task 'train' (in) already has a filter chain at task_result_filters[0]`,
      `${CLIENT} $.executors[1].tasks[1]: task '*' is already routed to executors[0]`,
      `${CLIENT} $.executors: executors 0, 1 are ClientAPIExecutors; FLARE allows one per client app (route all tasks to it)`
    ])
  })

  it("knows a workflow without id by its class name, as FLARE does", () => {
    const server = {
      format_version: 2,
      workflows: [{ path: "nvflare.app_common.workflows.fedavg.FedAvg", args: { persistor_id: "" } }],
      components: [{ id: "FedAvg", path: "a.B" }]
    }
    assert.deepStrictEqual(issueLines(rawJob(allMeta, { app: { server, client: externalClient() } })), [
      `${SERVER} $.components[0].id: duplicate component id 'FedAvg' (also at $.workflows[0])`
    ])
  })

  it("puts components only where FLARE accepts their kind", () => {
    const server = { format_version: 2, workflows: [persistor, { path: "x.Controller" }] }
    assert.deepStrictEqual(issueLines(rawJob(allMeta, { app: { server, client: externalClient() } })), [
      `${SERVER} $.workflows[0].path: NPModelPersistor (persistor) cannot be used here: workflows hold Controllers`
    ])
  })

  it("applies JobMetaValidator's deploy_map rules and reports every problem at once", () => {
    const meta = {
      name: "job",
      deploy_map: { a: ["site-1", "site-2"], b: ["site-2"], c: [], ghost: ["site-3"] },
      min_clients: 5,
      mandatory_clients: ["site-1", "site-9"]
    }
    assert.deepStrictEqual(
      issueLines(
        rawJob(meta, { a: { client: externalClient() }, b: { client: externalClient() }, c: valid, extra: valid })
      ),
      [
        `meta.json $.deploy_map.b: site 'site-2' is in apps 'a' and 'b'; FLARE deploys one app per site`,
        `meta.json $.deploy_map.c: app 'c' is deployed to no site; deploy it or remove it`,
        `meta.json $.deploy_map: the server is not deployed: one app must list "server" (or deploy one app to ["@ALL"])`,
        `meta.json $.min_clients: 5 is more than the 3 client site(s) deploy_map names`,
        `meta.json $.mandatory_clients[1]: mandatory client 'site-9' is not a client in deploy_map`,
        `c/config/config_fed_server.json $: never used: app 'c' is not deployed to the server`,
        `c/config/config_fed_client.json $: never used: app 'c' is not deployed to any client`,
        `meta.json $.deploy_map.ghost: App 'ghost' in deploy_map doesn't exist: the job has no such app`,
        `meta.json $.deploy_map: app 'extra' is not in deploy_map: its files would belong to no site`
      ]
    )
  })

  it("keeps @ALL alone and needs the configs each deployment implies", () => {
    const meta = { name: "job", deploy_map: { app: ["@ALL"], other: ["site-1"] } }
    assert.deepStrictEqual(
      issueLines(rawJob(meta, { app: { server: valid.server }, other: { client: externalClient() } })),
      [
        `meta.json $.deploy_map: "@ALL" must be the only site in deploy_map (it already means the server and every client)`,
        `meta.json $.deploy_map.app: app 'app' is deployed to clients but has no client config`
      ]
    )
  })

  it("checks resource_spec and launcher_spec as FLARE 2.9 does", () => {
    const meta = {
      ...allMeta,
      resource_spec: {
        "@default": { num_of_cpus: 0, gpus: 1 },
        // With "@default", a site that has launcher modes is checked through its "process" block only (as FLARE
        // does), so this memory value is not a portable field here.
        "site-1": { memory: "2GB", docker: { privileged: true, shm_size: "1g" } },
        "site-2": { memory: "2GB" }
      },
      launcher_spec: { "site-1": { docker: { image: "x", python_path: "" } }, default: { k8s: { cpu: 2 } } }
    }
    assert.deepStrictEqual(issueLines(rawJob(meta, { app: valid })), [
      `meta.json $.resource_spec["site-1"].docker.privileged: is not a Docker option a job may set (allowed: image, python_path, entrypoint, num_of_gpus, shm_size)`,
      `meta.json $.resource_spec["@default"].gpus: is not a portable resource (num_of_gpus, num_of_cpus, memory)`,
      `meta.json $.resource_spec["@default"].num_of_cpus: must be an integer greater than or equal to 1`,
      `meta.json $.resource_spec["site-2"].memory: must be a positive integer followed by Mi, Gi or Ti`,
      `meta.json $.launcher_spec["site-1"].docker.python_path: must be a non-empty string`,
      `meta.json $.resource_spec["site-1"]: portable resource 'num_of_cpus' conflicts with launcher_spec k8s cpu`,
      `meta.json $.resource_spec["site-2"]: portable resource 'num_of_cpus' conflicts with launcher_spec k8s cpu`,
      `meta.json $.resource_spec["@default"].num_of_cpus: conflicts with launcher_spec default k8s`
    ])
  })

  it("rejects components the target does not have, and 2.9-only arguments on 2.8", () => {
    const legacy = {
      format_version: 2,
      executors: [{
        tasks: ["*"],
        executor: {
          path: "nvflare.app_common.executors.client_api_launcher_executor.ClientAPILauncherExecutor",
          args: { pipe_id: "pipe" }
        }
      }],
      components: [{
        id: "pipe",
        path: "nvflare.fuel.utils.pipe.file_pipe.FilePipe",
        args: { mode: "PASSIVE", root_path: "/tmp" }
      }]
    }
    assert.deepStrictEqual(issueLines(rawJob(allMeta, { app: { server: valid.server, client: legacy } })), [
      `${CLIENT} $.executors[0].executor.path: ClientAPILauncherExecutor was removed in FLARE 2.9; target "2.8" or use ClientAPIExecutor`,
      `${CLIENT} $.components[0].path: FilePipe was removed in FLARE 2.9; target "2.8" or use ClientAPIExecutor`
    ])
    assert.deepStrictEqual(issueLines(rawJob(allMeta, { app: { server: valid.server, client: legacy } }, "2.8")), [])
    const server = fedAvgServer({ fedprox_mu: 0.1 }, [persistor])
    assert.deepStrictEqual(
      issueLines(
        rawJob(allMeta, {
          app: { server, client: externalClient({ execution_mode: "attach", attach_id: "a", command: undefined }) }
        }, "2.8")
      ),
      [
        `${CLIENT} $.executors[0].executor.args.execution_mode: execution_mode "attach" needs FLARE 2.9; 2.8 can only launch the trainer itself`,
        `${SERVER} $.workflows[0].args.fedprox_mu: FedAvg's fedprox_mu needs FLARE 2.9`,
        `${CLIENT} $.executors[0].executor.path: ClientAPIExecutor does not exist in FLARE 2.8`
      ]
    )
  })

  it.effect("Job.toFiles fails with every issue, before writing anything", () =>
    Effect.gen(function*() {
      const job = rawJob({ ...allMeta, deploy_map: { app: ["server", "site-1"] } }, {
        app: { server: fedAvgServer(), client: externalClient({ stop_grace_period: -1 }) }
      })
      const exit = yield* Effect.exit(Job.toFiles(job))
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(Job.toFiles(job))
      assert.strictEqual(error._tag, "JobCheckError")
      assert.deepStrictEqual(error.issues.map(String), [
        "meta.json $.min_clients: 2 is more than the 1 client site(s) deploy_map names",
        `${SERVER} $.workflows[0].path: FedAvg's persistor_id names component 'persistor', which does not exist (persistor_id defaults to "persistor"; set it to "" if none is wanted)`,
        `${CLIENT} $.executors[0].executor.args.stop_grace_period: ClientAPIExecutor: Expected a number greater than or equal to 0`
      ])
      assert.match(error.message, /^FLARE job is not valid \(3 issues\): meta\.json \$\.min_clients: /)
    }))
})
