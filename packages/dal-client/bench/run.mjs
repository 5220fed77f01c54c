#!/usr/bin/env node
// Benchmark of `fedkit-dal download` against curl, a plain node:http downloader, the contract's whole-body-in-memory
// recipe and the official Python client (apheris-utils, 50 threads), all against local dal-server processes on
// loopback (one answering at once, one after 10 ms per request). Prints a table and rewrites the results block of
// BENCHMARKS.md. Needs `pnpm build` first (dal-client and dal-server), curl, the FLARE venv (`pnpm bootstrap`; the
// official-client rows are skipped without it), and ~3 GiB of free space in TMPDIR.
import { execFileSync, spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync } from "node:fs"
import * as Fs from "node:fs/promises"
import { createServer } from "node:net"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"

const here = NodePath.dirname(fileURLToPath(import.meta.url))
const pkg = NodePath.resolve(here, "..")
// The command as users run it: the launcher in bin/, through its hashbang (and the Node flags there).
const bin = NodePath.join(pkg, "bin", "fedkit-dal.cjs")
const serverBin = NodePath.resolve(pkg, "node_modules", "@fedkit", "dal-server", "bin", "fedkit-dal-server.cjs")
const python = NodePath.resolve(pkg, "..", "..", ".venv-flare", "bin", "python")
const LATENCY_MS = 10
const token = `bench-${randomBytes(12).toString("hex")}`
const BIG = 1024 ** 3
const MANY = 2000
const SMALL = 256 * 1024
const REPEAT = Number(process.env["BENCH_REPEAT"] ?? 3)
const hasTime = existsSync("/usr/bin/time")

const log = (text) => process.stderr.write(`[bench] ${text}\n`)
const mib = (bytes) => bytes / 1024 ** 2
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

const freePort = () =>
  new Promise((resolve) => {
    const probe = createServer()
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })

let serverPid
/** CPU seconds the dal-server process in use has used so far (utime + stime from /proc). */
const serverCpu = () => {
  try {
    const fields = spawnSync("cat", [`/proc/${serverPid}/stat`], { encoding: "utf8" }).stdout.split(") ")[1].split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
}

/**
 * Runs a command to completion; answers wall seconds, peak RSS in MiB (of the largest process), its CPU seconds
 * (user + system, children included) and the CPU seconds the dal-server spent meanwhile.
 */
const measure = (command, args, options = {}) =>
  new Promise((resolve, reject) => {
    const timeFile = NodePath.join(Os.tmpdir(), `bench-time-${process.pid}-${Math.random()}`)
    const [cmd, argv] = hasTime
      ? ["/usr/bin/time", ["-f", "%e %M %U %S", "-o", timeFile, command, ...args]]
      : [command, args]
    const serverBefore = serverCpu()
    const started = performance.now()
    const child = spawn(cmd, argv, { stdio: ["ignore", "ignore", "pipe"], ...options })
    let stderr = ""
    let peak = 0
    const poll = hasTime ? undefined : setInterval(() => {
      try {
        const status = spawnSync("cat", [`/proc/${child.pid}/status`], { encoding: "utf8" }).stdout
        const rss = /VmHWM:\s+(\d+)/.exec(status)
        if (rss) peak = Math.max(peak, Number(rss[1]) / 1024)
      } catch {
        // the process ended between polls
      }
    }, 20)
    child.stderr.on("data", (d) => void (stderr += d))
    child.on("close", async (code) => {
      if (poll) clearInterval(poll)
      const wall = (performance.now() - started) / 1000
      if (code !== 0) return reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${stderr.slice(-2000)}`))
      const server = serverCpu() - serverBefore
      if (!hasTime) return resolve({ wall, rss: peak, cpu: Number.NaN, server })
      const [seconds, kib, user, system] = (await Fs.readFile(timeFile, "utf8")).trim().split(/\s+/).slice(-4)
        .map(Number)
      await Fs.rm(timeFile, { force: true })
      resolve({ wall: seconds, rss: kib / 1024, cpu: user + system, server })
    })
  })

const machine = () => {
  const cpus = Os.cpus()
  return {
    nproc: Os.availableParallelism?.() ?? cpus.length,
    cpu: cpus[0]?.model ?? "unknown",
    memory: `${(Os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    node: process.version,
    curl: execFileSync("curl", ["--version"], { encoding: "utf8" }).split("\n")[0],
    load: Os.loadavg().map((l) => l.toFixed(2)).join(" ")
  }
}

const generate = async (root) => {
  log("writing 1 GiB file and 2,000 x 256 KiB files")
  await Fs.mkdir(NodePath.join(root, "bkt", "big"), { recursive: true })
  await Fs.mkdir(NodePath.join(root, "bkt", "many"), { recursive: true })
  const block = randomBytes(16 * 1024 * 1024)
  const handle = await Fs.open(NodePath.join(root, "bkt", "big", "blob.bin"), "w")
  for (let written = 0; written < BIG; written += block.length) await handle.write(block)
  await handle.close()
  const small = randomBytes(SMALL)
  for (let i = 0; i < MANY; i++) {
    await Fs.writeFile(NodePath.join(root, "bkt", "many", `f${String(i).padStart(4, "0")}.bin`), small)
  }
}

const startServer = async (root, tokens, extra = []) => {
  const port = await freePort()
  const child = spawn(process.execPath, [
    serverBin,
    // Request logs would cost the server CPU in every column alike; warnings still show.
    "--log-level",
    "warning",
    "--root",
    root,
    "--port",
    String(port),
    "--tokens",
    tokens,
    ...extra
  ], { stdio: ["ignore", "pipe", "inherit"] })
  const url = await new Promise((resolve, reject) => {
    child.stdout.once("data", (d) => resolve(String(d).trim()))
    child.once("exit", (code) => reject(new Error(`dal-server exited ${code}`)))
  })
  return { url, pid: child.pid, stop: () => child.kill() }
}

const checkFiles = async (dir, count, size) => {
  const names = (await Fs.readdir(dir)).filter((n) => n.endsWith(".bin"))
  if (names.length !== count) throw new Error(`${dir}: ${names.length} files, expected ${count}`)
  for (const name of names) {
    const { size: got } = await Fs.stat(NodePath.join(dir, name))
    if (got !== size) throw new Error(`${dir}/${name}: ${got} bytes, expected ${size}`)
  }
}

const main = async () => {
  for (const file of [bin, serverBin]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run the build first`)
  }
  // The code cache is written by the first run of a build (as after a user's first run): not by a measured one.
  execFileSync(bin, ["--version"], { stdio: "ignore" })
  const info = machine()
  const work = await Fs.mkdtemp(NodePath.join(Os.tmpdir(), "fedkit-dal-bench-"))
  const root = NodePath.join(work, "root")
  const out = NodePath.join(work, "out")
  const tokens = NodePath.join(work, "tokens.json")
  let server
  let slowServer
  try {
    await generate(root)
    // The generator leaves 1.5 GiB of dirty pages; their writeback would land on whichever run comes first.
    execFileSync("sync")
    await Fs.writeFile(tokens, JSON.stringify({ tokens: [{ name: "bench", token, prefixes: ["s3://bkt/"] }] }))
    server = await startServer(root, tokens)
    slowServer = await startServer(root, tokens, ["--latency-ms", String(LATENCY_MS)])
    serverPid = server.pid
    const envFor = (url) => ({
      ...process.env,
      APH_API_DAL_URL: url,
      APH_DAL_TOKEN: token,
      APH_DATA: JSON.stringify({ big: "s3://bkt/big/blob.bin", many: "s3://bkt/many/" })
    })
    const env = envFor(server.url)
    const auth = ["-H", `Authorization: Bearer ${token}`]
    const fresh = async () => {
      await Fs.rm(out, { recursive: true, force: true })
      await Fs.mkdir(out, { recursive: true })
    }

    // (1) one 1 GiB file; runs alternate so drift in machine load hits both alike.
    const big = { fedkit: [], curl: [] }
    for (let i = 0; i < REPEAT; i++) {
      await fresh()
      log(`1 GiB: fedkit-dal download (${i + 1}/${REPEAT})`)
      big.fedkit.push(await measure(bin, ["download", "big", out], { env }))
      await checkFiles(out, 1, BIG)
      await fresh()
      log(`1 GiB: curl -o (${i + 1}/${REPEAT})`)
      big.curl.push(
        await measure("curl", [
          "-sS",
          "-f",
          ...auth,
          "-o",
          NodePath.join(out, "blob.bin"),
          `${server.url}datasets/s3://bkt/big/blob.bin`
        ])
      )
      await checkFiles(out, 1, BIG)
    }

    // (2) 2,000 files of 256 KiB.
    const names = Array.from({ length: MANY }, (_, i) => `f${String(i).padStart(4, "0")}.bin`)
    const urls = NodePath.join(work, "urls.txt")
    await Fs.writeFile(urls, names.map((n) => `${server.url}datasets/s3://bkt/many/${n}\n`).join(""))
    const xargs = (parallel) => [
      "-c",
      `xargs -a "$URLS" -P${parallel} -n1 curl -sS -f -H "Authorization: Bearer $TOKEN" --output-dir "$OUT" -O`
    ]
    const small = { fedkit: [], curl1: [], curl16: [], loop: [], plain: [] }
    for (let i = 0; i < REPEAT; i++) {
      await fresh()
      log(`2,000 files: fedkit-dal download (${i + 1}/${REPEAT})`)
      small.fedkit.push(await measure(bin, ["download", "many", out], { env }))
      await checkFiles(out, MANY, SMALL)
      for (const [label, parallel] of [["curl1", 1], ["curl16", 16]]) {
        await fresh()
        log(`2,000 files: xargs -P${parallel} curl (${i + 1}/${REPEAT})`)
        small[label].push(
          await measure("sh", xargs(parallel), { env: { ...process.env, TOKEN: token, OUT: out, URLS: urls } })
        )
        await checkFiles(out, MANY, SMALL)
      }
      await fresh()
      log(`2,000 files: sequential whole-body loop (${i + 1}/${REPEAT})`)
      small.loop.push(await measure(process.execPath, [NodePath.join(here, "sequential-loop.mjs"), out], { env }))
      await checkFiles(out, MANY, SMALL)
      await fresh()
      log(`2,000 files: plain node:http, 16 connections (${i + 1}/${REPEAT})`)
      small.plain.push(await measure(process.execPath, [NodePath.join(here, "plain-node-http.mjs"), out], { env }))
      await checkFiles(out, MANY, SMALL)
    }

    // (3) the same 2,000 files from a DAL answering each request after 10 ms (a DAL in front of object storage)
    serverPid = slowServer.pid
    const slowEnv = envFor(slowServer.url)
    const official = existsSync(python)
    const slow = { fedkit: [], fedkit50: [], loop: [], official: [] }
    for (let i = 0; i < REPEAT; i++) {
      await fresh()
      log(`10 ms latency: fedkit-dal download (${i + 1}/${REPEAT})`)
      slow.fedkit.push(await measure(bin, ["download", "many", out], { env: slowEnv }))
      await checkFiles(out, MANY, SMALL)
      await fresh()
      log(`10 ms latency: fedkit-dal download --concurrency 50 (${i + 1}/${REPEAT})`)
      slow.fedkit50.push(await measure(bin, ["download", "many", out, "--concurrency", "50"], { env: slowEnv }))
      await checkFiles(out, MANY, SMALL)
      await fresh()
      log(`10 ms latency: sequential whole-body loop (${i + 1}/${REPEAT})`)
      slow.loop.push(
        await measure(process.execPath, [NodePath.join(here, "sequential-loop.mjs"), out], { env: slowEnv })
      )
      await checkFiles(out, MANY, SMALL)
      if (!official) continue
      await fresh()
      log(`10 ms latency: official Python client, 50 threads (${i + 1}/${REPEAT})`)
      slow.official.push(
        await measure(python, [
          "-c",
          "import sys; from apheris_utils.data import download_dataset; download_dataset('many', sys.argv[1])",
          out
        ], { env: { ...slowEnv, APH_MAX_WORKERS: "50" } })
      )
      await checkFiles(NodePath.join(out, "many"), MANY, SMALL)
    }

    const bigF = median(big.fedkit.map((r) => r.wall))
    const bigC = median(big.curl.map((r) => r.wall))
    const peakF = Math.max(...big.fedkit.map((r) => r.rss))
    const peakC = Math.max(...big.curl.map((r) => r.rss))
    const smallF = median(small.fedkit.map((r) => r.wall))
    const smallC1 = median(small.curl1.map((r) => r.wall))
    const smallC16 = median(small.curl16.map((r) => r.wall))
    const smallL = median(small.loop.map((r) => r.wall))
    const smallP = median(small.plain.map((r) => r.wall))
    const slowF = median(slow.fedkit.map((r) => r.wall))
    const slowF50 = median(slow.fedkit50.map((r) => r.wall))
    const slowL = median(slow.loop.map((r) => r.wall))
    const slowO = official ? median(slow.official.map((r) => r.wall)) : Number.NaN
    const throughput = (seconds) => mib(BIG) / seconds
    const cpu = (runs) => `${median(runs.map((r) => r.cpu)).toFixed(2)} s`
    const serverCpuOf = (runs) => `${median(runs.map((r) => r.server)).toFixed(2)} s`
    const ratio = throughput(bigF) / throughput(bigC)
    const rows = [
      [
        "(1) 1 GiB file",
        "fedkit-dal download",
        `${bigF.toFixed(2)} s`,
        `${throughput(bigF).toFixed(0)} MiB/s`,
        `${peakF.toFixed(0)} MiB`,
        cpu(big.fedkit),
        serverCpuOf(big.fedkit)
      ],
      [
        "(1) 1 GiB file",
        "curl -o",
        `${bigC.toFixed(2)} s`,
        `${throughput(bigC).toFixed(0)} MiB/s`,
        `${peakC.toFixed(0)} MiB`,
        cpu(big.curl),
        serverCpuOf(big.curl)
      ],
      [
        "(2) 2,000 x 256 KiB",
        "fedkit-dal download (16 workers)",
        `${smallF.toFixed(2)} s`,
        `${(MANY / smallF).toFixed(0)} files/s`,
        "",
        cpu(small.fedkit),
        serverCpuOf(small.fedkit)
      ],
      [
        "(2) 2,000 x 256 KiB",
        "sequential curl (xargs -P1)",
        `${smallC1.toFixed(2)} s`,
        `${(MANY / smallC1).toFixed(0)} files/s`,
        "",
        cpu(small.curl1),
        serverCpuOf(small.curl1)
      ],
      [
        "(2) 2,000 x 256 KiB",
        "16 parallel curl (xargs -P16)",
        `${smallC16.toFixed(2)} s`,
        `${(MANY / smallC16).toFixed(0)} files/s`,
        "",
        cpu(small.curl16),
        serverCpuOf(small.curl16)
      ],
      [
        "(2) 2,000 x 256 KiB",
        "sequential whole-body loop (Node fetch)",
        `${smallL.toFixed(2)} s`,
        `${(MANY / smallL).toFixed(0)} files/s`,
        "",
        cpu(small.loop),
        serverCpuOf(small.loop)
      ],
      [
        "(2) 2,000 x 256 KiB",
        "plain node:http, 16 keep-alive connections",
        `${smallP.toFixed(2)} s`,
        `${(MANY / smallP).toFixed(0)} files/s`,
        "",
        cpu(small.plain),
        serverCpuOf(small.plain)
      ],
      [
        `(3) 2,000 x 256 KiB, ${LATENCY_MS} ms per request`,
        "fedkit-dal download (16 workers)",
        `${slowF.toFixed(2)} s`,
        `${(MANY / slowF).toFixed(0)} files/s`,
        `${Math.max(...slow.fedkit.map((r) => r.rss)).toFixed(0)} MiB`,
        cpu(slow.fedkit),
        serverCpuOf(slow.fedkit)
      ],
      [
        `(3) 2,000 x 256 KiB, ${LATENCY_MS} ms per request`,
        "fedkit-dal download --concurrency 50",
        `${slowF50.toFixed(2)} s`,
        `${(MANY / slowF50).toFixed(0)} files/s`,
        `${Math.max(...slow.fedkit50.map((r) => r.rss)).toFixed(0)} MiB`,
        cpu(slow.fedkit50),
        serverCpuOf(slow.fedkit50)
      ],
      [
        `(3) 2,000 x 256 KiB, ${LATENCY_MS} ms per request`,
        "sequential whole-body loop (Node fetch)",
        `${slowL.toFixed(2)} s`,
        `${(MANY / slowL).toFixed(0)} files/s`,
        "",
        cpu(slow.loop),
        serverCpuOf(slow.loop)
      ],
      ...(official
        ? [[
          `(3) 2,000 x 256 KiB, ${LATENCY_MS} ms per request`,
          "official Python client (apheris-utils 0.39.1, 50 threads)",
          `${slowO.toFixed(2)} s`,
          `${(MANY / slowO).toFixed(0)} files/s`,
          `${Math.max(...slow.official.map((r) => r.rss)).toFixed(0)} MiB`,
          cpu(slow.official),
          serverCpuOf(slow.official)
        ]]
        : [])
    ]
    const targets = [
      [`(1) throughput >= 0.9x curl`, `${ratio.toFixed(2)}x`, ratio >= 0.9],
      [`(1) peak RSS < 128 MiB`, `${peakF.toFixed(0)} MiB`, peakF < 128],
      [`(2) no slower than 16 parallel curl`, `${(smallC16 / smallF).toFixed(2)}x curl -P16`, smallF <= smallC16],
      [`(2) faster than plain node:http (16 connections)`, `${(smallP / smallF).toFixed(2)}x`, smallF < smallP],
      [`(3) >= 5x faster than the sequential loop`, `${(slowL / slowF).toFixed(1)}x`, slowL / slowF >= 5],
      ...(official
        ? [[
          `(3) faster than the official Python client (both 50 in flight)`,
          `${(slowO / slowF50).toFixed(2)}x`,
          slowF50 < slowO
        ]]
        : [])
    ]
    const table = [
      `| case | tool | wall (median of ${REPEAT}) | rate | peak RSS (max of ${REPEAT}) | client CPU | dal-server CPU |`,
      "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
      ...rows.map((r) => `| ${r.join(" | ")} |`),
      "",
      "| target | measured | met |",
      "| --- | --- | --- |",
      ...targets.map(([t, m, ok]) => `| ${t} | ${m} | ${ok ? "yes" : "**no**"} |`)
    ].join("\n")
    const machineText = [
      `- nproc: ${info.nproc}; CPU: ${info.cpu}; memory: ${info.memory}`,
      `- node ${info.node}; ${info.curl}`,
      `- load average at the start: ${info.load}; at the end: ${Os.loadavg().map((l) => l.toFixed(2)).join(" ")}`,
      "- CPU columns are medians of user + system seconds: the client's own, and the dal-server's during the run",
      `- peak RSS from ${
        hasTime ? "`/usr/bin/time -f %M`" : "polling /proc/PID/status VmHWM"
      }; all runs of each case, interleaved`,
      `- date: ${new Date().toISOString()}`
    ].join("\n")
    process.stdout.write(`\n${table}\n\n${machineText}\n`)

    const mdPath = NodePath.join(pkg, "BENCHMARKS.md")
    const block = `<!-- bench:start (written by \`pnpm bench\`) -->\n${machineText}\n\n${table}\n<!-- bench:end -->`
    const current = existsSync(mdPath)
      ? await Fs.readFile(mdPath, "utf8")
      : "# Benchmarks\n\n<!-- bench:start -->\n<!-- bench:end -->\n"
    const next = current.replace(/<!-- bench:start[\s\S]*?<!-- bench:end -->/, block)
    await Fs.writeFile(mdPath, next)
    log(`results written to ${mdPath}`)
  } finally {
    server?.stop()
    slowServer?.stop()
    await Fs.rm(work, { recursive: true, force: true })
  }
}

await main()
