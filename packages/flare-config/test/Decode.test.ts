import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { ClientConfig, Job, JobMeta, ServerConfig } from "../src/index.js"

const issueLines = <A>(result: Either.Either<A, { readonly issues: ReadonlyArray<{ toString(): string }> }>) =>
  Either.match(result, { onLeft: (error) => error.issues.map(String), onRight: () => [] })

const right = <A, E>(result: Either.Either<A, E>): A => Either.getOrThrowWith(result, (error) => error)

// The project's smoke job: hand-written FLARE JSON, the kind of folder a team already has.
const smokeJob = fileURLToPath(new URL("../../../tooling/flare/smoke-job", import.meta.url))
const readFolder = (root: string): Record<string, string> => {
  const files: Record<string, string> = {}
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else files[relative(root, path)] = readFileSync(path, "utf8")
    }
  }
  walk(root)
  return files
}

describe("decoding existing FLARE JSON", () => {
  it("reads a hand-written job folder into typed values", () => {
    const job = right(Job.fromFiles(readFolder(smokeJob)))
    assert.deepStrictEqual(job.meta.deploy_map, { app: ["@ALL"] })
    assert.strictEqual(job.meta.min_clients, 2)
    const app = job.apps["app"]!
    assert.strictEqual(app.server?.workflows[0].path, "nvflare.app_common.workflows.fedavg.FedAvg")
    assert.deepStrictEqual(app.server?.workflows[0].args, { num_clients: 2, num_rounds: 3, persistor_id: "persistor" })
    assert.strictEqual(app.client?.executors[0].executor.args["execution_mode"], "external_process")
    assert.deepStrictEqual(Object.keys(app.custom), ["client.py"])
  })

  it("reports every problem in a server config with its JSON path", () => {
    assert.deepStrictEqual(
      issueLines(ServerConfig.decode({
        format_version: 3,
        workflows: [{ path: "FedAvg", arg: {} }, { id: "", path: "a.B" }],
        components: [{ path: "a.B" }],
        task_result_filters: [{ tasks: [], filters: [{ path: "x.Y" }], direction: "sideways" }]
      })),
      [
        "config_fed_server.json $.format_version: Expected 2, actual 3",
        `config_fed_server.json $.workflows[0].arg: is unexpected, expected: "id" | "path" | "args" | "disabled"`,
        `config_fed_server.json $.workflows[0].path: Expected a fully qualified class path (dotted Python identifiers, e.g. "package.module.Class"), actual "FedAvg"`,
        "config_fed_server.json $.workflows[1].id: Expected a non-empty string",
        "config_fed_server.json $.components[0].id: is missing",
        "config_fed_server.json $.task_result_filters[0].tasks: must not be empty: FLARE needs at least one task name",
        `config_fed_server.json $.task_result_filters[0].direction: Expected "in" | "out" | "inout", actual "sideways"`
      ]
    )
  })

  it("requires workflows on the server and executors on a client, as FLARE does", () => {
    assert.deepStrictEqual(issueLines(ServerConfig.decode({ format_version: 2, workflows: [] })), [
      "config_fed_server.json $.workflows: must not be empty: FLARE requires at least one workflow"
    ])
    assert.deepStrictEqual(
      issueLines(ClientConfig.decode({ format_version: 2 }, "app/config/config_fed_client.json")),
      [
        "app/config/config_fed_client.json $.executors: is missing"
      ]
    )
  })

  it("keeps top-level config variables and writes them back at the top level", () => {
    const file = {
      format_version: 2,
      app_script: "cifar10.py",
      executors: [{ tasks: ["train"], executor: { path: "a.B", args: { command: "python3 custom/{app_script}" } } }]
    }
    const config = right(ClientConfig.decode(file))
    assert.deepStrictEqual(config.variables, { app_script: "cifar10.py" })
    assert.deepStrictEqual(ClientConfig.encode(config), {
      ...file,
      components: [],
      task_data_filters: [],
      task_result_filters: []
    })
  })

  it("reads every deploy_map form FLARE accepts and holds them as site lists", () => {
    const meta = right(JobMeta.decode({
      name: "j",
      deploy_map: {
        a: ["server"],
        b: { sites: ["site-1"] },
        c: { targets: ["site-2"] },
        d: [{ sites: ["site-3"] }, "site-4", { targets: ["site-5"] }],
        e: "site-6"
      }
    }))
    assert.deepStrictEqual(meta.deploy_map, {
      a: ["server"],
      b: ["site-1"],
      c: ["site-2"],
      d: ["site-3", "site-4", "site-5"],
      e: ["site-6"]
    })
    assert.deepStrictEqual(JobMeta.encode(meta)["deploy_map"], meta.deploy_map)
  })

  it("rejects bad meta.json fields with their paths", () => {
    assert.deepStrictEqual(
      issueLines(JobMeta.fromJson(JSON.stringify({
        name: "bad name",
        deploy_map: { app: [{ site: ["x"] }, "site 2"] },
        min_clients: 0,
        job_id: "abc",
        launcher_spec: { "site-1": { podman: {} } }
      }))),
      [
        `meta.json $.job_id: is unexpected, expected: "name" | "deploy_map" | "resource_spec" | "min_clients" | "mandatory_clients" | "launcher_spec" | "scope" | "custom_props"`,
        `meta.json $.name: Expected a job name matching ^[A-Za-z0-9][A-Za-z0-9._-]*$, actual "bad name"`,
        `meta.json $.deploy_map.app[0]: Expected { "sites": [...] } or { "targets": [...] }, actual keys ["site"]`,
        `meta.json $.deploy_map.app[1]: Expected "@ALL", "server" or a site name matching ^[A-Za-z0-9_-]+$, actual "site 2"`,
        "meta.json $.min_clients: Expected an integer from 1 to 1000000 (FLARE's MAX_CLIENTS)",
        `meta.json $.launcher_spec["site-1"].podman: is unexpected, expected: "process" | "docker" | "k8s" | "slurm"`
      ]
    )
    assert.deepStrictEqual(
      issueLines(JobMeta.decode({ name: "j", deploy_map: { "-app": ["server"], "app\n": ["site-1"] } })),
      [
        `meta.json $.deploy_map["-app"]: Expected an app name matching ^[A-Za-z0-9][A-Za-z0-9._-]*$, actual "-app"`,
        `meta.json $.deploy_map["app\\n"]: Expected an app name matching ^[A-Za-z0-9][A-Za-z0-9._-]*$, actual "app\\n"`
      ]
    )
    const [notJson, ...others] = issueLines(JobMeta.fromJson("{ nope"))
    assert.match(notJson ?? "", /^meta\.json \$: not valid JSON \(.+\)$/)
    assert.deepStrictEqual(others, [])
  })

  it("reports problems across a whole folder at once, and files it does not read", () => {
    const files = readFolder(smokeJob)
    const broken = {
      ...files,
      "meta.json": JSON.stringify({ name: "x", deploy_map: { app: ["@ALL"] }, min_clients: -1 }),
      "app/config/config_fed_client.json": JSON.stringify({ format_version: 2, executors: [{ tasks: ["*"] }] }),
      "app/config/environment.conf": "x = 1",
      "app/custom/../../escape.py": ""
    }
    assert.deepStrictEqual(issueLines(Job.fromFiles(broken)), [
      "app/config/config_fed_client.json $.executors[0].executor: is missing",
      "app/config/environment.conf $: not a file flare-config reads (meta.json, <app>/config/config_fed_server.json, <app>/config/config_fed_client.json, <app>/custom/**; JSON configs only)",
      "app/custom/../../escape.py $: not a file flare-config reads (meta.json, <app>/config/config_fed_server.json, <app>/config/config_fed_client.json, <app>/custom/**; JSON configs only)",
      "meta.json $.min_clients: Expected an integer from 1 to 1000000 (FLARE's MAX_CLIENTS)"
    ])
  })

  it("keeps outside file names away from prototypes", () => {
    const files = { ...readFolder(smokeJob), "__proto__/custom/x.py": "print(1)", "constructor/custom/y.py": "" }
    const lines = issueLines(Job.fromFiles(files))
    assert.includeMembers(lines, [
      "FlareJob $.apps.__proto__: is unexpected, expected: a key other than __proto__"
    ])
    assert.isUndefined(({} as Record<string, unknown>)["custom"])
  })
})
