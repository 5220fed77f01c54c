// `pnpm bench`: render latency in-process (p50/p99) for the reference runtime, then service throughput over a fixed
// load from this (second) process against `secure-runtime serve` in its own process, for valid and for rejected
// payloads. Each figure is printed next to its target; the run exits 1 only if an answer is a 5xx or not the
// expected status (targets depend on the machine). Run after `pnpm build`.
import { NodeContext } from "@effect/platform-node"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { Agent, request } from "node:http"
import { availableParallelism, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Inputs from "../dist/Inputs.js"
import * as Render from "../dist/Render.js"
import * as RuntimeModule from "../dist/RuntimeModule.js"

const here = (path) => fileURLToPath(new URL(path, import.meta.url))
const MODULE = here("../test/fixtures/good/secure_runtime_service.js")
const DATASET2GW = { "dataset-a_gateway-1_org-1": "gateway-1", "dataset-b_gateway-2_org-2": "gateway-2" }
const VALID = JSON.stringify({ optimizer_name: "adam", learning_rate: 0.05, num_federation_rounds: 5 })
const REJECTED = [
  JSON.stringify({ optimizer_name: "adamw", learning_rate: -1 }),
  "{\"optimizer_name\": \"adam\",",
  JSON.stringify({ optimizer_name: "sgd", extra: "x".repeat(200) })
]
const LOAD = { valid: 5_000, rejected: 20_000, concurrency: 32 }
// One server process per core. Jobs go to tmpfs when there is one, as to a container's scratch volume: on this
// machine's ext4 disk the five files of a job cost about 1.7 ms of kernel time, more than rendering it.
const WORKERS = Math.max(1, availableParallelism())
const JOBS_ROOT = existsSync("/dev/shm") ? "/dev/shm" : tmpdir()
const TARGETS = { renderP99Ms: 5, validPerSecond: 1_000, rejectedPerSecond: 5_000 }

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

const renderLatency = async () => {
  const { dataset2gw, runtime } = await Effect.runPromise(
    Effect.all({
      runtime: Effect.map(RuntimeModule.load(MODULE), (loaded) => loaded.runtime),
      dataset2gw: Inputs.dataset2gw(JSON.stringify(DATASET2GW))
    }).pipe(Effect.provide(NodeContext.layer))
  )
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

/** Sends `total` POSTs, `concurrency` at a time over keep-alive connections; counts answers by status. */
const load = (url, bodies, total, concurrency) =>
  new Promise((resolve) => {
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
    const statuses = new Map()
    let sent = 0
    let done = 0
    const started = performance.now()
    const next = () => {
      if (sent >= total) return
      const body = bodies[sent % bodies.length]
      sent++
      const req = request({
        agent,
        host: url.hostname,
        port: url.port,
        method: "POST",
        path: "/v1/jobs",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
      }, (res) => {
        res.resume()
        res.on("end", () => {
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
          finish()
        })
      })
      req.on("error", () => {
        statuses.set("error", (statuses.get("error") ?? 0) + 1)
        finish()
      })
      req.end(body)
    }
    const finish = () => {
      done++
      if (done === total) {
        agent.destroy()
        resolve({ seconds: (performance.now() - started) / 1000, statuses: Object.fromEntries(statuses) })
      } else {
        next()
      }
    }
    for (let i = 0; i < concurrency; i++) next()
  })

const main = async () => {
  process.stdout.write(`secure-runtime bench (node ${process.version}, ${availableParallelism()} cores)\n`)
  const latency = await renderLatency()
  process.stdout.write(
    `render (parse+validate+template+package, in-process, ${latency.count} runs): p50 ${fmt(latency.p50)} ms, ` +
      `p99 ${fmt(latency.p99)} ms (target p99 < ${TARGETS.renderP99Ms} ms)\n`
  )
  const jobsDir = mkdtempSync(join(JOBS_ROOT, "fedkit-sr-bench-"))
  const { child, url } = await startServer(jobsDir)
  process.stdout.write(
    `service: secure-runtime serve --workers ${WORKERS}, jobs in ${jobsDir}, load from this process\n`
  )
  const missed = []
  if (latency.p99 >= TARGETS.renderP99Ms) missed.push("render p99")
  let wrong = false
  try {
    await load(url, [VALID], 500, LOAD.concurrency)
    await load(url, REJECTED, 2_000, LOAD.concurrency)
    for (
      const [name, bodies, total, expected, target] of [
        ["valid", [VALID], LOAD.valid, [201], TARGETS.validPerSecond],
        ["rejected", REJECTED, LOAD.rejected, [400, 422], TARGETS.rejectedPerSecond]
      ]
    ) {
      const cpuBefore = cpuSeconds(child.pid)
      const result = await load(url, bodies, total, LOAD.concurrency)
      const cpuPerRequest = ((cpuSeconds(child.pid) - cpuBefore) / total) * 1e6
      const perSecond = total / result.seconds
      const unexpected = Object.entries(result.statuses).filter(([status]) => !expected.includes(Number(status)))
      const errors5xx = Object.entries(result.statuses)
        .filter(([status]) => Number(status) >= 500).reduce((sum, [, count]) => sum + count, 0)
      process.stdout.write(
        `service ${name}: ${total} requests, ${LOAD.concurrency} concurrent, ${fmt(result.seconds, 2)} s, ` +
          `${Math.round(perSecond)} req/s (target >= ${target}), statuses ${JSON.stringify(result.statuses)}, ` +
          `5xx ${errors5xx}, server CPU ${Math.round(cpuPerRequest)} µs/request\n`
      )
      if (unexpected.length > 0 || errors5xx > 0) wrong = true
      if (perSecond < target) missed.push(`${name} throughput`)
    }
  } finally {
    child.kill("SIGTERM")
    rmSync(jobsDir, { recursive: true, force: true })
  }
  process.stdout.write(
    wrong
      ? "bench: FAILED, unexpected answers (see statuses)\n"
      : missed.length > 0
      ? `bench: every answer as expected, no 5xx; targets missed on this machine: ${missed.join(", ")}\n`
      : "bench: every answer as expected, no 5xx; all targets met\n"
  )
  process.exitCode = wrong ? 1 : 0
}

await main()
