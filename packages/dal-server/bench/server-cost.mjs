#!/usr/bin/env node
// What serving costs the server itself, measured on `fedkit-dal-server` in its own process (its launcher in bin/, as installed):
//   1. CPU seconds the server spends to send a 1 GiB file over loopback (median of 5; the README says < 0.6 s);
//   2. resident memory held per slow client: clients that request a 64 MiB file and never read, up to the
//      --max-transfers cap (default 64), and what the next one gets (503);
//   3. resident memory once those clients are gone.
// Prints the figures with the load average at the time. Linux only (/proc). Run by `pnpm bench` after the build.
import { spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import { request } from "node:http"
import { connect } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const bin = fileURLToPath(new URL("../bin/fedkit-dal-server.cjs", import.meta.url))
const GiB = 1024 ** 3
const slowFile = 64 * 1024 * 1024
const slowClients = 64
const runs = 5
const ticksPerSecond = 100 // CLK_TCK on Linux

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const mib = (bytes) => (bytes / 1024 / 1024).toFixed(1)

const dir = await fs.mkdtemp(path.join(os.tmpdir(), "fedkit-dal-server-cost-"))
const root = path.join(dir, "root")
await fs.mkdir(path.join(root, "data"), { recursive: true })
// sparse files: the figures are the server's, not the disk's
for (const [name, size] of [["big.bin", GiB], ["slow.bin", slowFile]]) {
  await fs.writeFile(path.join(root, "data", name), "")
  await fs.truncate(path.join(root, "data", name), size)
}

const server = spawn(process.execPath, [bin, "--root", root], { stdio: ["ignore", "pipe", "ignore"] })
const url = new URL(
  await new Promise((resolve, reject) => {
    let out = ""
    server.stdout.on("data", (chunk) => {
      out += chunk
      if (out.includes("\n")) resolve(out.split("\n")[0])
    })
    server.on("exit", (code) => reject(new Error(`fedkit-dal-server exited with ${code}`)))
  })
)

const procStat = async () => {
  const fields = (await fs.readFile(`/proc/${server.pid}/stat`, "utf8")).split(") ")[1].split(" ")
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
}
const rssBytes = async () => {
  const status = await fs.readFile(`/proc/${server.pid}/status`, "utf8")
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024
}

const download = (target) =>
  new Promise((resolve, reject) => {
    request({ host: url.hostname, port: url.port, path: target, agent: false }, (res) => {
      let bytes = 0
      res.on("data", (chunk) => (bytes += chunk.length))
      res.on("end", () => resolve({ status: res.statusCode, bytes }))
      res.on("error", reject)
    }).on("error", reject).end()
  })

/** A client that sends its request and then never reads: the server's writes back up. */
const stuckClient = () =>
  new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(`GET /datasets/s3://data/slow.bin HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`)
      socket.pause()
      resolve(socket)
    })
    socket.on("error", () => {})
  })

try {
  await download("/datasets/s3://data/big.bin") // warm-up: compiled code, the page cache
  const cpu = []
  for (let i = 0; i < runs; i++) {
    const before = await procStat()
    const { bytes } = await download("/datasets/s3://data/big.bin")
    if (bytes !== GiB) throw new Error(`got ${bytes} bytes of 1 GiB`)
    cpu.push((await procStat()) - before)
  }

  await sleep(1000)
  const baseline = await rssBytes()
  const sockets = []
  for (let i = 0; i < slowClients; i++) sockets.push(await stuckClient())
  await sleep(3000)
  const held = await rssBytes()
  const next = await download("/datasets/s3://data/slow.bin")
  for (const socket of sockets) socket.destroy()
  await sleep(3000)
  const after = await rssBytes()

  const load = os.loadavg().map((l) => l.toFixed(2)).join(", ")
  console.log(`fedkit-dal-server cost (own process, loopback; load average ${load} on ${os.cpus().length} cores)`)
  console.log(
    `  serve 1 GiB: ${median(cpu).toFixed(2)} CPU-s (median of ${runs}: ${cpu.map((c) => c.toFixed(2)).join(", ")})`
  )
  console.log(
    `  ${slowClients} slow clients (64 MiB file, never read): RSS ${mib(baseline)} -> ${mib(held)} MiB, ` +
      `${mib((held - baseline) / slowClients)} MiB per client; client ${slowClients + 1} got ${next.status}`
  )
  console.log(`  after they left: RSS ${mib(after)} MiB`)
} finally {
  server.kill("SIGTERM")
  await new Promise((resolve) => server.once("exit", resolve))
  await fs.rm(dir, { recursive: true, force: true })
}
