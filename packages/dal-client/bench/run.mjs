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
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5)
const hasTime = existsSync("/usr/bin/time")

const log = (text) => process.stderr.write(`[bench] ${text}\n`)
const mib = (bytes) => bytes / 1024 ** 2
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** Dirty and under-writeback page-cache bytes of the whole machine. */
const unwritten = () => {
  const info = spawnSync("cat", ["/proc/meminfo"], { encoding: "utf8" }).stdout
  const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(info)?.[1] ?? 0)
  return (kib("Dirty") + kib("Writeback")) * 1024
}

const settleLimitBytes = 32 * 1024 ** 2
const settleWaitMs = 30_000
let unsettled = 0
/**
 * Writes the page cache back (`sync`), then waits (at most 30 s) until the machine's dirty and writeback pages are
 * below 32 MiB: other processes on the machine may keep dirtying pages, which no run here controls. Counts the waits
 * that ran out, for the report.
 */
const settle = async () => {
  execFileSync("sync")
  const until = Date.now() + settleWaitMs
  while (unwritten() > settleLimitBytes) {
    if (Date.now() > until) return void unsettled++
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

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

    // Every case runs its contenders in rounds: each round runs each contender once, in the order of the previous
    // round reversed, so drift in the machine's load and in the kernel's state hits every contender alike. Before
    // each run the destination is emptied and the page cache's dirty pages are written back (see `settle`): a run is
    // measured on a quiet disk, not on the writeback of the run before it. The slow reference rows (one request at a
    // time, far from any target) run in the first and the last round only, to keep the bench within ~10 minutes.
    const names = Array.from({ length: MANY }, (_, i) => `f${String(i).padStart(4, "0")}.bin`)
    const urls = NodePath.join(work, "urls.txt")
    await Fs.writeFile(urls, names.map((n) => `${server.url}datasets/s3://bkt/many/${n}\n`).join(""))
    const xargs = (parallel) => () =>
      measure("sh", [
        "-c",
        `xargs -a "$URLS" -P${parallel} -n1 curl -sS -f -H "Authorization: Bearer $TOKEN" --output-dir "$OUT" -O`
      ], { env: { ...process.env, TOKEN: token, OUT: out, URLS: urls } })
    const slowEnv = envFor(slowServer.url)
    const official = existsSync(python)
    const node = (script, runEnv) => () =>
      measure(process.execPath, [NodePath.join(here, script), out], { env: runEnv })
    const sequentialLoop = (runEnv) => ({
      id: "loop",
      tool: "sequential whole-body loop (Node fetch)",
      reference: true,
      run: node("sequential-loop.mjs", runEnv)
    })
    const manyFiles = {
      check: () => checkFiles(out, MANY, SMALL),
      rate: (seconds) => `${(MANY / seconds).toFixed(0)} files/s`
    }
    const cases = [
      {
        title: "(1) 1 GiB file",
        server,
        contenders: [
          { id: "fedkit", tool: "fedkit-dal download", run: () => measure(bin, ["download", "big", out], { env }) },
          {
            id: "curl",
            tool: "curl -o",
            run: () =>
              measure("curl", [
                "-sS",
                "-f",
                ...auth,
                "-o",
                NodePath.join(out, "blob.bin"),
                `${server.url}datasets/s3://bkt/big/blob.bin`
              ])
          }
        ],
        check: () => checkFiles(out, 1, BIG),
        rate: (seconds) => `${(mib(BIG) / seconds).toFixed(0)} MiB/s`
      },
      {
        title: "(2) 2,000 x 256 KiB",
        server,
        contenders: [
          {
            id: "fedkit",
            tool: "fedkit-dal download (16 workers)",
            run: () => measure(bin, ["download", "many", out], { env })
          },
          {
            id: "plain",
            tool: "plain node:http, 16 keep-alive connections",
            run: node("plain-node-http.mjs", env)
          },
          { id: "curl16", tool: "16 parallel curl (xargs -P16)", run: xargs(16) },
          { id: "curl1", tool: "sequential curl (xargs -P1)", reference: true, run: xargs(1) },
          sequentialLoop(env)
        ],
        ...manyFiles
      },
      {
        title: `(3) 2,000 x 256 KiB, ${LATENCY_MS} ms per request`,
        server: slowServer,
        contenders: [
          {
            id: "fedkit",
            tool: "fedkit-dal download (16 workers)",
            run: () => measure(bin, ["download", "many", out], { env: slowEnv })
          },
          {
            id: "fedkit50",
            tool: "fedkit-dal download --concurrency 50",
            run: () => measure(bin, ["download", "many", out, "--concurrency", "50"], { env: slowEnv })
          },
          ...(official
            ? [{
              id: "official",
              tool: "official Python client (apheris-utils 0.39.1, 50 threads)",
              run: () =>
                measure(python, [
                  "-c",
                  "import sys; from apheris_utils.data import download_dataset; download_dataset('many', sys.argv[1])",
                  out
                ], { env: { ...slowEnv, APH_MAX_WORKERS: "50" } }),
              check: () => checkFiles(NodePath.join(out, "many"), MANY, SMALL)
            }]
            : []),
          sequentialLoop(slowEnv)
        ],
        ...manyFiles
      }
    ]
    const results = new Map()
    for (const benchCase of cases) {
      serverPid = benchCase.server.pid
      for (let round = 0; round < ROUNDS; round++) {
        const inRound = benchCase.contenders.filter((c) => !c.reference || round === 0 || round === ROUNDS - 1)
        for (const contender of round % 2 === 0 ? inRound : [...inRound].reverse()) {
          await fresh()
          await settle()
          log(`${benchCase.title}: ${contender.tool} (round ${round + 1}/${ROUNDS})`)
          const result = await contender.run()
          await (contender.check ?? benchCase.check)()
          const key = `${benchCase.title}/${contender.id}`
          results.set(key, [...(results.get(key) ?? []), { ...result, round }])
        }
      }
    }

    const runsOf = (title, id) => results.get(`${title}/${id}`) ?? []
    const wallOf = (title, id) => median(runsOf(title, id).map((r) => r.wall))
    /** In how many rounds `a` was faster than `b` (rounds in which both ran). */
    const wins = (title, a, b) => {
      const other = new Map(runsOf(title, b).map((r) => [r.round, r.wall]))
      const paired = runsOf(title, a).filter((r) => other.has(r.round))
      return `${paired.filter((r) => r.wall < other.get(r.round)).length} of ${paired.length} rounds`
    }
    const rows = cases.flatMap((benchCase) =>
      benchCase.contenders.map((contender) => {
        const runs = runsOf(benchCase.title, contender.id)
        const walls = runs.map((r) => r.wall)
        return [
          benchCase.title,
          contender.tool,
          `${median(walls).toFixed(2)} s`,
          `${Math.min(...walls).toFixed(2)}-${Math.max(...walls).toFixed(2)} s (${runs.length})`,
          benchCase.rate(median(walls)),
          `${Math.max(...runs.map((r) => r.rss)).toFixed(0)} MiB`,
          `${median(runs.map((r) => r.cpu)).toFixed(2)} s`,
          `${median(runs.map((r) => r.server)).toFixed(2)} s`
        ]
      })
    )
    const [big, small, slow] = cases.map((c) => c.title)
    const ratio = wallOf(big, "curl") / wallOf(big, "fedkit")
    const peakF = Math.max(...runsOf(big, "fedkit").map((r) => r.rss))
    const versusPlain = wallOf(small, "plain") / wallOf(small, "fedkit")
    const versusCurl16 = wallOf(small, "curl16") / wallOf(small, "fedkit")
    const versusLoop = wallOf(slow, "loop") / wallOf(slow, "fedkit")
    const versusOfficial = wallOf(slow, "official") / wallOf(slow, "fedkit50")
    const targets = [
      [`(1) throughput >= 0.9x curl`, `${ratio.toFixed(2)}x (faster in ${wins(big, "fedkit", "curl")})`, ratio >= 0.9],
      [`(1) peak RSS < 128 MiB`, `${peakF.toFixed(0)} MiB`, peakF < 128],
      [
        `(2) no slower than 16 parallel curl`,
        `${versusCurl16.toFixed(2)}x (faster in ${wins(small, "fedkit", "curl16")})`,
        versusCurl16 >= 1
      ],
      [
        `(2) faster than plain node:http (16 connections)`,
        `${versusPlain.toFixed(2)}x (faster in ${wins(small, "fedkit", "plain")})`,
        versusPlain > 1
      ],
      [`(3) >= 5x faster than the sequential loop`, `${versusLoop.toFixed(1)}x`, versusLoop >= 5],
      ...(official
        ? [[
          `(3) faster than the official Python client (both 50 in flight)`,
          `${versusOfficial.toFixed(2)}x (faster in ${wins(slow, "fedkit50", "official")})`,
          versusOfficial > 1
        ]]
        : [])
    ]
    const table = [
      "| case | tool | wall (median) | wall (min-max, runs) | rate (of the median) | peak RSS (max) | client CPU (median) | dal-server CPU (median) |",
      "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...rows.map((r) => `| ${r.join(" | ")} |`),
      "",
      "| target (ratio of the median walls) | measured | met |",
      "| --- | --- | --- |",
      ...targets.map(([t, m, ok]) => `| ${t} | ${m} | ${ok ? "yes" : "**no**"} |`)
    ].join("\n")
    const machineText = [
      `- nproc: ${info.nproc}; CPU: ${info.cpu}; memory: ${info.memory}`,
      `- node ${info.node}; ${info.curl}`,
      `- load average at the start: ${info.load}; at the end: ${Os.loadavg().map((l) => l.toFixed(2)).join(" ")}`,
      `- ${ROUNDS} rounds per case, each round in the reverse order of the one before; the sequential reference rows in the first and last round only`,
      `- before every run: destination emptied, \`sync\`, then a wait until dirty + writeback pages < 32 MiB (${unsettled} of the waits ran out at 30 s)`,
      "- CPU columns are medians of user + system seconds: the client's own, and the dal-server's during the run",
      `- peak RSS from ${
        hasTime ? "`/usr/bin/time -f %M`" : "polling /proc/PID/status VmHWM"
      }, the largest of all runs`,
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
