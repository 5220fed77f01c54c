// The reference model image, checked from inside (run by `pnpm images`, after the build and `pnpm build`):
// 1. the model's Secure Runtime module at /usr/secure_runtime/src/secure_runtime/ renders the job from the demo's
//    payload, in the image, as uid 3333 on a read-only root (the job lands in /workspace);
// 2. that job, as rendered (no custom code: the image's `python3 -m fedkit_bridge` and its Node trainer run), runs in
//    the image's `nvflare simulator` with three gateways, each reading its shard with its own token from a
//    `fedkit-dal-server` on loopback outside the image (each site's APH_* given to that site's processes only, by
//    @fedkit/job-packager's simulator launcher);
// 3. the global model FLARE saved reaches the demo's targets on the held-out rows (≥ 93 %, ≤ 2 points from the
//    central baseline computed here by the same code).
import { NodeContext } from "@effect/platform-node"
import { Effect, Schema } from "effect"
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { chownSync, mkdirSync, readdirSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { exec, openContainer } from "../../../scripts/images/container.mjs"
import { checkRun } from "../../../scripts/images/lib.mjs"
import * as BreastCancer from "../dist/BreastCancer.js"
import * as DalFixture from "../dist/DalFixture.js"
import * as Federation from "../dist/Federation.js"
import * as NpyVector from "../dist/NpyVector.js"
import { Payload, settingsOf } from "../dist/secure_runtime/secure_runtime_service.js"
import * as Split from "../dist/Split.js"

const require = createRequire(import.meta.url)
const PAYLOAD = { optimizer_name: "adam", learning_rate: 0.01, num_federation_rounds: 10 }
// The demo's targets (src/demo.ts, README "Results").
const TARGET_ACCURACY = 0.93
const MAX_GAP = 0.02
const RUNTIME = "/usr/secure_runtime/src/secure_runtime/secure_runtime_service.js"

// Runs in the image: loads the runtime module from its place and writes the job it renders to /workspace/job.
const RENDER = `
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
const runtime = (await import(${JSON.stringify(RUNTIME)})).default
const [payload, dataset2gw, out] = process.argv.slice(2)
const parsed = runtime.parse(payload)
runtime.validate(parsed)
const files = runtime.template(parsed, JSON.parse(dataset2gw))
for (const [name, content] of Object.entries(files)) {
  mkdirSync(dirname(join(out, name)), { recursive: true })
  writeFileSync(join(out, name), typeof content === "string" ? content : JSON.stringify(content, null, 2))
}
console.log(Object.keys(files).sort().join(" "))
`

const CLIENT_API_EXECUTOR = "nvflare.app_common.executors.client_api_executor.ClientAPIExecutor"
// Runs in the image: writes a site's resources.json with FLARE's default class allow-list plus the model's executor.
const SITE_POLICY = `
import json, os, sys
from nvflare.app_common.default_component_policy import DEFAULT_CLASS_ALLOW_LIST
os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)
with open(sys.argv[1], "w") as f:
    json.dump({"class_allow_list": list(DEFAULT_CLASS_ALLOW_LIST) + [${JSON.stringify(CLIENT_API_EXECUTOR)}]}, f)
print(len(DEFAULT_CLASS_ALLOW_LIST))
`

const run = (effect) => Effect.runPromise(Effect.provide(effect, NodeContext.layer))

const startDal = (args) =>
  new Promise((resolve, reject) => {
    const bin = join(dirname(require.resolve("@fedkit/dal-server/package.json")), "bin", "fedkit-dal-server.cjs")
    const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    child.stdout.on("data", (chunk) => {
      out += chunk
      if (out.includes("\n")) resolve({ child, url: out.slice(0, out.indexOf("\n")).trim() })
    })
    child.on("close", (code) => reject(new Error(`fedkit-dal-server exited ${code} before printing its URL`)))
  })

const findFile = (dir, name) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isFile() && entry.name === name) return path
    if (entry.isDirectory()) {
      const found = findFile(path, name)
      if (found !== undefined) return found
    }
  }
  return undefined
}

/** Runs the checks; returns one line per check passed, throws on the first failure. */
export const checkModelImage = async ({ image, workdir }) => {
  const { check, ok, passed } = checkRun(image)

  const split = await run(Effect.flatMap(BreastCancer.load, (samples) => Split.split(samples)))
  const dalRoot = join(workdir, "dal")
  mkdirSync(dalRoot, { recursive: true })
  const gateways = await run(DalFixture.write(dalRoot, split.shards))
  const sites = gateways.map((gateway) => ({ gateway, token: randomBytes(24).toString("base64url") }))
  writeFileSync(
    join(workdir, "tokens.json"),
    JSON.stringify({
      tokens: sites.map(({ gateway, token }) => ({
        name: gateway.gateway,
        token,
        prefixes: [DalFixture.prefix(gateway)]
      }))
    }),
    { mode: 0o600 }
  )
  writeFileSync(join(workdir, "policies.json"), JSON.stringify({ policies: DalFixture.policies(gateways) }))
  const dal = await startDal([
    "--root",
    dalRoot,
    "--tokens",
    join(workdir, "tokens.json"),
    "--policies",
    join(workdir, "policies.json"),
    "--port",
    "0"
  ])
  const container = openContainer(image, join(workdir, "workspace"))
  try {
    ok(`fedkit-dal-server on ${dal.url}, outside the image: ${gateways.length} gateways, one token each`)

    writeFileSync(join(container.workspace, "render.mjs"), RENDER)
    const dataset2gw = Object.fromEntries(gateways.map((g) => [g.datasetId, g.gateway]))
    const rendered = await exec(container, [
      "node",
      "render.mjs",
      JSON.stringify(PAYLOAD),
      JSON.stringify(dataset2gw),
      "/workspace/job"
    ])
    check(rendered.code === 0, `rendering with ${RUNTIME} failed: ${rendered.stderr.trim()}`)
    ok(`${RUNTIME} renders the job in the image: ${rendered.stdout.trim()}`)

    // The site variables, for the launcher only (0600, the runtime user's); the token never is an argument.
    const launcherModule = join(
      dirname(require.resolve("@fedkit/job-packager/package.json")),
      "dist",
      "internal",
      "python.js"
    )
    const { SIMULATOR_LAUNCHER } = await import(launcherModule)
    writeFileSync(join(container.workspace, "launch_simulator.py"), SIMULATOR_LAUNCHER)
    const siteEnv = join(container.workspace, "site-env.json")
    writeFileSync(
      siteEnv,
      JSON.stringify(Object.fromEntries(sites.map(({ gateway, token }) => [gateway.gateway, {
        APH_DATA: DalFixture.aphData(gateway),
        APH_DAL_TOKEN: token
      }]))),
      { mode: 0o600 }
    )
    chownSync(siteEnv, container.uid, container.gid)
    mkdirSync(join(container.workspace, "tmp"))
    chownSync(join(container.workspace, "tmp"), container.uid, container.gid)

    // The job carries no code (the image does), so FLARE 2.9 checks its components against each site's class allow-list
    // (local/resources.json): a gateway running this model allows its executor, ClientAPIExecutor, beside FLARE's
    // defaults. The simulator copies <workspace>/local into every site's.
    const policy = await exec(container, ["python3", "-c", SITE_POLICY, "/workspace/simulation/local/resources.json"])
    check(policy.code === 0, `writing the sites' class allow-list failed: ${policy.stderr.trim()}`)
    ok(`the sites allow FLARE's ${policy.stdout.trim()} default components and ${CLIENT_API_EXECUTOR}`)

    const started = Date.now()
    const simulated = await exec(container, [
      "python3",
      "/workspace/launch_simulator.py",
      "simulator",
      "/workspace/job",
      "-w",
      "/workspace/simulation",
      "-c",
      sites.map(({ gateway }) => gateway.gateway).join(","),
      "-t",
      String(sites.length)
    ], {
      env: { APH_API_DAL_URL: dal.url, FEDKIT_SITE_ENV_FILE: "/workspace/site-env.json", TMPDIR: "/workspace/tmp" }
    })
    const output = `${simulated.stdout}\n${simulated.stderr}`
    const rounds = output.split("\n").filter((line) => /fedkit-bridge: \[[\w-]+\] round \d+: /.test(line))
    for (const line of rounds.filter((line) => /round (1|10): training/.test(line))) {
      process.stderr.write(`[images]     ${line.replace(/^.*fedkit-bridge: /, "").trim()}\n`)
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    const leaked = sites.find(({ token }) => output.includes(token))
    check(leaked === undefined, "a DAL token appeared in FLARE's output")
    check(
      simulated.code === 0,
      `nvflare simulator exited ${simulated.code}: ${simulated.stderr.trim().split("\n").slice(-5).join(" | ")}`
    )
    const provisioned = sites.filter(({ gateway }) =>
      simulated.stderr.includes(`[fedkit] site ${gateway.gateway} starts with 2 site variable(s)`)
    )
    check(provisioned.length === sites.length, "not every site got its own APH_* variables")
    const expected = sites.length * (PAYLOAD.num_federation_rounds + 1)
    check(rounds.length === expected, `the bridges reported ${rounds.length} site rounds, expected ${expected}`)
    ok(
      `nvflare simulator in the image: ${sites.length} sites × ${
        PAYLOAD.num_federation_rounds + 1
      } rounds, ${seconds} s`
    )

    const model = findFile(join(container.workspace, "simulation"), "server.npy")
    check(model !== undefined, "FLARE saved no global model (server.npy) in /workspace/simulation")
    const federated = Federation.evaluate(await run(NpyVector.read(model)), split.test)
    const central = await run(Federation.central({
      train: split.train,
      trainingRounds: PAYLOAD.num_federation_rounds,
      settings: settingsOf(Schema.decodeUnknownSync(Payload)(PAYLOAD)),
      heldOut: split.test
    }))
    const baseline = central.rounds.at(-1).heldOut
    const gap = Math.abs(federated.accuracy - baseline.accuracy)
    const figures = `federated test accuracy ${federated.accuracy.toFixed(3)}, central baseline ${
      baseline.accuracy.toFixed(3)
    } (${split.test.count} held-out rows)`
    check(federated.accuracy >= TARGET_ACCURACY && gap <= MAX_GAP, `the model missed the demo's targets: ${figures}`)
    ok(`the image's model reaches the demo's targets: ${figures}`)
    return passed
  } finally {
    dal.child.kill("SIGTERM")
    container.close()
  }
}
