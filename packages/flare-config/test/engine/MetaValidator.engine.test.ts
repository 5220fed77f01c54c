// Differential test: random job layouts judged by this package's checks and by FLARE's own JobMetaValidator (the
// check `submit_job` and the simulator run), zipped the way FLARE's client zips a job folder. Both must agree on
// accept/reject for every case. The few rules this package adds on top of FLARE's are left out of the comparison
// and listed below.
import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import { Job, JobCheck } from "../../src/index.js"
import { FlareLive, runPython } from "../support/python.js"
import { externalClient, rawFiles } from "../support/rawJob.js"

const VALIDATE = `
import io, json, sys, zipfile
from nvflare.private.fed.server.job_meta_validator import JobMetaValidator

verdicts = []
for files in json.load(sys.stdin):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        folders = set()
        for path in files:
            parts = ("job/" + path).split("/")[:-1]
            for i in range(1, len(parts) + 1):
                folders.add("/".join(parts[:i]) + "/")
        for folder in sorted(folders):
            zf.writestr(folder, "")  # directory entries, as nvflare's zip_utils writes them
        for path, text in files.items():
            zf.writestr("job/" + path, text)
    try:
        valid, message, _ = JobMetaValidator().validate("job", buffer.getvalue())
        verdicts.append({"valid": valid, "message": message})
    except Exception as e:  # e.g. StopIteration when no client is deployed
        verdicts.append({"valid": False, "message": "%s: %s" % (type(e).__name__, e)})
print(json.dumps(verdicts))
`

// Rules this package adds to FLARE's submission check (README, "Stricter than FLARE").
const STRICTER = [
  /is deployed to no site/,
  /never used/,
  /no client site is deployed/,
  /is not in deploy_map: its files/
]

const server = {
  format_version: 2,
  workflows: [{ path: "nvflare.app_common.workflows.fedavg.FedAvg", args: { persistor_id: "" } }]
}
const client = externalClient()

interface Layout {
  readonly deployMap: Record<string, unknown>
  readonly apps: Record<string, { readonly server: boolean; readonly client: boolean }>
}

// Valid layouts first (so both verdicts are common), then 0-2 mutations that may break them.
const layout: fc.Arbitrary<Layout> = fc.oneof(
  fc.constant({ deployMap: { app: ["@ALL"] }, apps: { app: { server: true, client: true } } }),
  fc.subarray(["site-1", "site-2", "site-3"], { minLength: 1 }).map((clients) => ({
    deployMap: { app_server: ["server"], app_clients: clients },
    apps: { app_server: { server: true, client: false }, app_clients: { server: false, client: true } }
  })),
  fc.constant({
    deployMap: { app: { sites: ["server", "site-1"] }, "app-b": [{ targets: ["site-2"] }, "site-3"] },
    apps: { app: { server: true, client: true }, "app-b": { server: false, client: true } }
  })
)

type Mutation = (layout: Layout) => Layout
const mutation: fc.Arbitrary<Mutation> = fc.constantFrom<Mutation>(
  (l) => ({ ...l, deployMap: { ...l.deployMap, extra: ["site-1"] } }), // a site in two apps, or a missing app
  (l) => ({
    ...l,
    deployMap: { ...l.deployMap, extra: ["@ALL"] },
    apps: { ...l.apps, extra: { server: true, client: true } }
  }),
  (l) => ({
    ...l,
    deployMap: Object.fromEntries(
      Object.entries(l.deployMap).map(([k, v]) => [k, Array.isArray(v) ? v.filter((s) => s !== "server") : v])
    )
  }),
  (l) => ({ ...l, apps: Object.fromEntries(Object.entries(l.apps).slice(1)) }), // drop an app's files
  (l) => ({ ...l, apps: Object.fromEntries(Object.entries(l.apps).map(([k, v]) => [k, { ...v, server: false }])) }),
  (l) => ({ ...l, apps: Object.fromEntries(Object.entries(l.apps).map(([k, v]) => [k, { ...v, client: false }])) }),
  (l) => ({ ...l, deployMap: {} }),
  (l) => ({
    ...l,
    deployMap: { ...l.deployMap, "app-dup": ["site-2", "site-2"] },
    apps: { ...l.apps, "app-dup": { server: false, client: true } }
  })
)

const resourceSpec = fc.constantFrom(
  {},
  { "site-1": { num_of_gpus: 1 } },
  { "site-1": { memory: "2Gi", num_of_cpus: 2 } },
  { "site-1": { memory: "2GB" } },
  { "@default": { num_of_cpus: 0 } },
  { "@default": { gpus: 1 } },
  { "site-1": { docker: { image: "repo/image:1", shm_size: "1g" } } },
  { "site-1": { docker: { privileged: true } } },
  { "@default": { memory: "1Gi" }, "site-2": { process: { num_of_gpus: -1 } } }
)
const launcherSpec = fc.constantFrom(
  { "site-1": { docker: { entrypoint: ["python3"] } } },
  { "site-1": { docker: { entrypoint: [] } } },
  { default: { k8s: { cpu: 1 } } },
  { "site-2": { process: {}, slurm: { cpus_per_node: 2 } } }
)

const caseArbitrary = fc.record({
  layout: fc.tuple(layout, fc.array(mutation, { maxLength: 2 })).map(([base, mutations]) =>
    mutations.reduce((current, mutate) => mutate(current), base)
  ),
  minClients: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined, freq: 2 }),
  mandatory: fc.option(fc.subarray(["site-1", "site-2", "site-4", "server"]), { nil: undefined, freq: 2 }),
  resourceSpec: fc.option(resourceSpec, { nil: undefined, freq: 2 }),
  launcherSpec: fc.option(launcherSpec, { nil: undefined, freq: 2 })
})

type Case = typeof caseArbitrary extends fc.Arbitrary<infer A> ? A : never

const filesOf = (c: Case) =>
  rawFiles(
    {
      name: "job",
      deploy_map: c.layout.deployMap,
      ...(c.minClients === undefined ? {} : { min_clients: c.minClients }),
      ...(c.mandatory === undefined ? {} : { mandatory_clients: c.mandatory }),
      ...(c.resourceSpec === undefined ? {} : { resource_spec: c.resourceSpec }),
      ...(c.launcherSpec === undefined ? {} : { launcher_spec: c.launcherSpec })
    },
    Object.fromEntries(
      Object.entries(c.layout.apps).map(([name, content]) => [name, {
        ...(content.server ? { server } : {}),
        ...(content.client ? { client } : {}),
        custom: { "train.py": "" }
      }])
    )
  )

layer(FlareLive, { excludeTestServices: true })("job checks vs FLARE's JobMetaValidator", (it) => {
  it.effect("agree on every generated job", () =>
    Effect.gen(function*() {
      const cases = fc.sample(caseArbitrary, { numRuns: 400, seed: 2026 })
      const files = cases.map(filesOf)
      const verdicts = yield* runPython<ReadonlyArray<{ readonly valid: boolean; readonly message: string }>>(
        VALIDATE,
        files
      )
      const disagreements: Array<string> = []
      cases.forEach((c, index) => {
        const job = Job.fromFiles(files[index]!)
        const ours = Either.isLeft(job)
          ? job.left.issues.map(String)
          : JobCheck.check(job.right).map(String).filter((line) => !STRICTER.some((rule) => rule.test(line)))
        const flare = verdicts[index]!
        if ((ours.length === 0) !== flare.valid) {
          disagreements.push(
            `${JSON.stringify({ ...c, layout: c.layout })}\n  FLARE: ${
              flare.valid ? "valid" : flare.message
            }\n  ours: ${ours.join(" | ") || "valid"}`
          )
        }
      })
      assert.deepStrictEqual(disagreements, [])
      // A comparison that only ever saw one verdict would prove little.
      const valid = verdicts.filter((verdict) => verdict.valid).length
      assert.isAtLeast(valid, 40)
      assert.isAtLeast(verdicts.length - valid, 40)
    }), { timeout: 60_000 })
})
