// `pnpm bench` (after `pnpm build`), in one run on one payload:
// - in-process render latency (parse + validate + template + package) of the reference runtime (its template a
//   `function*`, stepped without a fiber; also timed as the same body run by `Effect.gen`), p50/p99, next to the
//   platform tutorial's own Python runtime (bench/tutorial, pydantic, run with the project's Python in .venv-flare)
//   doing parse + validate + template + json.dump of its files to tmpfs, and their ratio;
// - the exported Python shim: its first call, then parse + validate + template per round through its Node process;
// - service throughput with autocannon on loopback, for a fixed time, against `secure-runtime serve --workers 2`
//   in its own processes, for valid and for rejected payloads.
// Each figure is printed next to its target with the machine's load; the run exits 1 only if an answer is a 5xx or
// not the expected status (targets depend on the machine, and other work on it).
// `FEDKIT_BENCH=render pnpm bench` runs only the render part (fedkit next to the tutorial's Python runtime), for
// iterating on render cost; `FEDKIT_BENCH=service pnpm bench` only the service part, for iterating on the server.
import { NodeContext } from "@effect/platform-node"
import { defineRuntime } from "@fedkit/runtime-core"
import autocannon from "autocannon"
import { Effect } from "effect"
import { execFileSync, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { availableParallelism, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Inputs from "../dist/Inputs.js"
import * as Render from "../dist/Render.js"
import * as RuntimeModule from "../dist/RuntimeModule.js"

const here = (path) => fileURLToPath(new URL(path, import.meta.url))
const MODULE = here("../test/fixtures/good/secure_runtime_service.js")
const DATASET2GW = { "dataset-a_gateway-1_org-1": "gateway-1", "dataset-b_gateway-2_org-2": "gateway-2" }
const VALID = JSON.stringify({ optimizer_name: "adam", learning_rate: 0.05, num_federation_rounds: 5 })
const REPO = here("../../..")
const PYTHON = join(process.env.FEDKIT_FLARE_VENV ?? join(REPO, ".venv-flare"), "bin", "python")
const REJECTED = [
  JSON.stringify({ optimizer_name: "adamw", learning_rate: -1 }),
  "{\"optimizer_name\": \"adam\",",
  JSON.stringify({ optimizer_name: "sgd", extra: "x".repeat(200) })
]
// The warm-up lets V8 finish optimizing the request path: after 2 s, its compiler threads still took a fifth of a
// worker's CPU, and the figures measured the start of a server rather than a server.
const LOAD = { seconds: 10, warmupSeconds: 5, connections: 32 }
// Two server processes, as the targets are stated for. Jobs go to tmpfs when there is one, as to a container's
// scratch volume: on an ext4 disk the five files of a job cost more kernel time than rendering it.
const WORKERS = 2
const JOBS_ROOT = existsSync("/dev/shm") ? "/dev/shm" : tmpdir()
const TARGETS = {
  renderVsPython: 0.5,
  renderP99Ms: 1,
  shimRoundMs: 20,
  validPerSecond: 3_000,
  rejectedPerSecond: 10_000
}

const ONLY = process.env.FEDKIT_BENCH
if (ONLY !== undefined && ONLY !== "service" && ONLY !== "render") {
  throw new Error(`FEDKIT_BENCH must be "render" or "service", not ${JSON.stringify(ONLY)}`)
}

const load = () => `load ${loadavg().map((n) => n.toFixed(2)).join(" ")}`

/** CPU seconds (user + system) a process and its children (the workers) have used so far, from /proc (Linux). */
const cpuSeconds = (pid) => {
  try {
    const own = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ").filter(Boolean)
    return (Number(own[11]) + Number(own[12])) / 100 + children.reduce((sum, child) => sum + cpuSeconds(child), 0)
  } catch {
    return Number.NaN
  }
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]
const fmt = (n, digits = 3) => n.toFixed(digits)

/** Render latency of `runtime` on the valid payload, after a warm-up: `{ p50, p99, count }` in ms. */
const renderLatency = (runtime, dataset2gw) => {
  const once = () => Effect.runSync(Render.render(runtime, VALID, dataset2gw, "bench-job"))
  for (let i = 0; i < 3_000; i++) once()
  const samples = []
  for (let i = 0; i < 10_000; i++) {
    const started = performance.now()
    once()
    samples.push(performance.now() - started)
  }
  samples.sort((a, b) => a - b)
  return { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99), count: samples.length }
}

/**
 * The reference runtime, whose template is a `function*` (stepped without a fiber), timed first and alone (a second
 * runtime through the same code would make its call sites polymorphic); then the same template body run by
 * `Effect.gen` (the form that needs a fiber per render).
 */
const renderLatencies = async () => {
  const { dataset2gw, runtime } = await Effect.runPromise(
    Effect.all({
      runtime: Effect.map(RuntimeModule.load(MODULE), (loaded) => loaded.runtime),
      dataset2gw: Inputs.dataset2gw(JSON.stringify(DATASET2GW))
    }).pipe(Effect.provide(NodeContext.layer))
  )
  const reference = renderLatency(runtime, dataset2gw)
  const { definition } = await import(MODULE)
  const viaEffectGen = defineRuntime({
    ...definition,
    template: (payload, context) => Effect.gen(() => definition.template(payload, context))
  }).withTemplateFolder(runtime.templateFolder)
  return [reference, renderLatency(viaEffectGen, dataset2gw)]
}

const startServer = (jobsDir) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      here("../dist/bin.js"),
      "serve",
      "--module",
      MODULE,
      "--dataset2gw",
      JSON.stringify(DATASET2GW),
      "--jobs-dir",
      jobsDir,
      "--port",
      "0",
      "--workers",
      String(WORKERS)
    ], { stdio: ["ignore", "pipe", "ignore"] })
    let out = ""
    child.stdout.on("data", (chunk) => {
      out += chunk.toString("utf8")
      if (out.includes("\n")) resolve({ child, url: new URL(out.split("\n")[0]) })
    })
    child.on("exit", (code) => reject(new Error(`serve exited with ${code}`)))
  })

/** POSTs `bodies` in turn on `connections` keep-alive connections for `seconds`; counts answers by status. */
const hammer = async (url, bodies, seconds) => {
  const result = await autocannon({
    url: `${url.origin}/v1/jobs`,
    connections: LOAD.connections,
    duration: seconds,
    requests: bodies.map((body) => ({
      method: "POST",
      headers: { "content-type": "application/json" },
      body
    }))
  })
  const statuses = Object.fromEntries(
    Object.entries(result.statusCodeStats).map(([status, { count }]) => [status, count])
  )
  if (result.errors > 0) statuses.error = result.errors
  return { total: result.requests.total, seconds: result.duration, statuses }
}

/** The Python timing harness (bench/timing.py) on a runtime module: `{ first_ms, p50_ms, p99_ms, count }`. */
const timePython = (python, module, args = []) =>
  JSON.parse(
    execFileSync(python, [here("timing.py"), module, VALID, JSON.stringify(DATASET2GW), ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"]
    })
  )

/** The in-process render next to the tutorial's Python runtime, and the Python shim; misses go to `missed`. */
const renderParts = async (missed) => {
  const [latency, viaEffectGen] = await renderLatencies()
  process.stdout.write(
    `fedkit render (parse+validate+template+package, in-process, ${latency.count} runs): p50 ${fmt(latency.p50)} ms, ` +
      `p99 ${fmt(latency.p99)} ms (target p99 < ${TARGETS.renderP99Ms} ms)\n` +
      `  the same template as Effect.gen (a fiber per render): p50 ${fmt(viaEffectGen.p50)} ms, ` +
      `p99 ${fmt(viaEffectGen.p99)} ms\n`
  )
  if (latency.p99 >= TARGETS.renderP99Ms) missed.push("render p99")

  if (existsSync(PYTHON)) {
    const dump = mkdtempSync(join(JOBS_ROOT, "fedkit-sr-bench-py-"))
    try {
      const tutorial = timePython(PYTHON, here("tutorial/secure_runtime_service.py"), ["--dump", dump])
      const ratio = latency.p50 / tutorial.p50_ms
      process.stdout.write(
        `tutorial Python runtime (pydantic parse+validate+template+json.dump, ${PYTHON}, ${tutorial.count} runs): ` +
          `p50 ${fmt(tutorial.p50_ms)} ms, p99 ${fmt(tutorial.p99_ms)} ms\n` +
          `ratio fedkit p50 / Python p50: ${fmt(ratio, 2)}x (target <= ${TARGETS.renderVsPython}x); ` +
          `with the template as Effect.gen: ${fmt(viaEffectGen.p50 / tutorial.p50_ms, 2)}x\n`
      )
      if (ratio > TARGETS.renderVsPython) missed.push("render vs Python")
    } finally {
      rmSync(dump, { recursive: true, force: true })
    }
  } else {
    process.stdout.write(`tutorial Python runtime: skipped, no ${PYTHON} (run \`pnpm bootstrap\`)\n`)
    missed.push("render vs Python (not measured)")
  }

  if (ONLY === "render") return

  const shimDir = mkdtempSync(join(tmpdir(), "fedkit-sr-bench-shim-"))
  try {
    execFileSync(process.execPath, [
      here("../dist/bin.js"),
      "export-python",
      "--module",
      MODULE,
      "--out",
      shimDir,
      "--node",
      process.execPath
    ], { stdio: "ignore" })
    const python = existsSync(PYTHON) ? PYTHON : "python3"
    const shim = timePython(python, join(shimDir, "secure_runtime_service.py"), ["--runs", "500", "--warmup", "50"])
    process.stdout.write(
      `Python shim (parse+validate+template through one Node process, ${shim.count} runs): first call ` +
        `${fmt(shim.first_ms, 0)} ms, then p50 ${fmt(shim.p50_ms)} ms, p99 ${fmt(shim.p99_ms)} ms ` +
        `(target < ${TARGETS.shimRoundMs} ms)\n`
    )
    if (shim.p50_ms >= TARGETS.shimRoundMs) missed.push("shim round")
  } finally {
    rmSync(shimDir, { recursive: true, force: true })
  }
}

/** The service under autocannon; misses go to `missed`. Whether an answer was a 5xx or not the expected status. */
const servicePart = async (missed) => {
  const jobsDir = mkdtempSync(join(JOBS_ROOT, "fedkit-sr-bench-"))
  const { child, url } = await startServer(jobsDir)
  process.stdout.write(
    `service: secure-runtime serve --workers ${WORKERS}, jobs in ${jobsDir}, autocannon from this process, ` +
      `${LOAD.connections} connections, ${LOAD.seconds} s each\n`
  )
  let wrong = false
  try {
    await hammer(url, [VALID], LOAD.warmupSeconds)
    await hammer(url, REJECTED, LOAD.warmupSeconds)
    for (
      const [name, bodies, expected, target] of [
        ["valid", [VALID], [201], TARGETS.validPerSecond],
        ["rejected", REJECTED, [400, 422], TARGETS.rejectedPerSecond]
      ]
    ) {
      const cpuBefore = cpuSeconds(child.pid)
      const result = await hammer(url, bodies, LOAD.seconds)
      const cpuPerRequest = ((cpuSeconds(child.pid) - cpuBefore) / result.total) * 1e6
      const perSecond = result.total / result.seconds
      const unexpected = Object.entries(result.statuses).filter(([status]) => !expected.includes(Number(status)))
      const errors5xx = Object.entries(result.statuses)
        .filter(([status]) => Number(status) >= 500).reduce((sum, [, count]) => sum + count, 0)
      process.stdout.write(
        `service ${name}: ${result.total} requests in ${fmt(result.seconds, 2)} s, ` +
          `${Math.round(perSecond)} req/s (target >= ${target}), statuses ${JSON.stringify(result.statuses)}, ` +
          `5xx ${errors5xx}, server CPU ${Math.round(cpuPerRequest)} µs/request (${load()})\n`
      )
      if (unexpected.length > 0 || errors5xx > 0) wrong = true
      if (perSecond < target) missed.push(`${name} throughput`)
    }
  } finally {
    child.kill("SIGTERM")
    rmSync(jobsDir, { recursive: true, force: true })
  }
  return wrong
}

const main = async () => {
  process.stdout.write(`secure-runtime bench (node ${process.version}, ${availableParallelism()} cores, ${load()})\n`)
  const missed = []
  if (ONLY !== "service") await renderParts(missed)
  if (ONLY === "render") {
    process.stdout.write(
      missed.length > 0
        ? `bench (render only): targets missed on this machine (${load()}): ${missed.join(", ")}\n`
        : `bench (render only): all targets met (${load()})\n`
    )
    return
  }
  const wrong = await servicePart(missed)
  process.stdout.write(
    wrong
      ? "bench: FAILED, unexpected answers (see statuses)\n"
      : missed.length > 0
      ? `bench: every answer as expected, no 5xx; targets missed on this machine (${load()}): ${missed.join(", ")}\n`
      : `bench: every answer as expected, no 5xx; all targets met (${load()})\n`
  )
  process.exitCode = wrong ? 1 : 0
}

await main()
