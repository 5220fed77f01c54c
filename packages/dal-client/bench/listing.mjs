#!/usr/bin/env node
// Benchmark of a huge listing: `fedkit-dal download --dry-run` (list, check every path, plan; nothing written) of a
// dataset of LISTING_ENTRIES entries (default 10 million: one folder entry and 9,999 files per folder, keys like
// `s3://bench/big/part-0042/sample-00420001.dat`) served on loopback by a minimal DAL in this process that makes
// each page of 10,000 keys on the fly (RFC 8288 `Link` pagination). The command runs under the bin's own V8 flags
// plus `--max-old-space-size=512`, so it fails if the plan does not fit; prints wall time and peak RSS. With
// `--unsorted` the pages come in reverse order (one sorted run per page for the client to merge).
// Needs `pnpm build` first. Usage: pnpm bench:listing [entries] [--unsorted]
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import * as Fs from "node:fs/promises"
import { createServer } from "node:http"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"

const here = NodePath.dirname(fileURLToPath(import.meta.url))
// The command as users run it: the launcher in bin/, with the Node flags of its hashbang.
const bin = NodePath.resolve(here, "..", "bin", "fedkit-dal.cjs")
const unsorted = process.argv.includes("--unsorted")
const entries = Number(process.argv.slice(2).find((arg) => /^\d+$/.test(arg)) ?? 10_000_000)
const pageSize = 10_000
const perFolder = 10_000
const token = "bench-listing-token"
const datasetKey = "s3://bench/big/"

const log = (text) => process.stderr.write(`[bench:listing] ${text}\n`)

/** Entry `i`: every `perFolder`-th is a folder entry, the others are the files in it. */
const keyAt = (i) => {
  const folder = `${datasetKey}part-${String(Math.floor(i / perFolder)).padStart(4, "0")}/`
  return i % perFolder === 0 ? folder : `${folder}sample-${String(i).padStart(8, "0")}.dat`
}

const pages = Math.ceil(entries / pageSize)
const server = createServer((req, res) => {
  if (req.headers.authorization !== `Bearer ${token}`) return void res.writeHead(401).end()
  const page = Number(new URL(req.url ?? "/", "http://x").searchParams.get("page") ?? 0)
  const from = (unsorted ? pages - 1 - page : page) * pageSize
  const to = Math.min(entries, from + pageSize)
  const keys = []
  for (let i = from; i < to; i++) keys.push(keyAt(i))
  const headers = { "content-type": "application/json" }
  if (page + 1 < pages) headers.link = `</datasets/${datasetKey}?page=${page + 1}>; rel="next"`
  res.writeHead(200, headers).end(JSON.stringify(keys))
})
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
const url = `http://127.0.0.1:${server.address().port}/`

const dest = await Fs.mkdtemp(NodePath.join(Os.tmpdir(), "bench-listing-"))
// The launcher's hashbang flags, and the memory bound under test.
const shebang = (await Fs.readFile(bin, "utf8")).split("\n")[0]
const oldSpace = process.env["LISTING_OLD_SPACE_MB"] ?? "512"
const flags = [...shebang.replace(/^#!.*?node\s*/, "").split(/\s+/).filter(Boolean), `--max-old-space-size=${oldSpace}`]
const timeFile = NodePath.join(dest, "time")
const hasTime = existsSync("/usr/bin/time")
const command = [process.execPath, ...flags, bin, "download", "big", NodePath.join(dest, "data"), "--dry-run", "--json"]
log(
  `${entries} entries in ${pages} pages${unsorted ? " (in reverse order)" : ""}; node ${flags.join(" ")}; load: ${
    Os.loadavg().map((x) => x.toFixed(2))
  }`
)
const started = performance.now()
const child = spawn(hasTime ? "/usr/bin/time" : command[0], [
  ...(hasTime ? ["-f", "%M %U %S", "-o", timeFile, command[0]] : []),
  ...command.slice(1)
], {
  env: { ...process.env, APH_API_DAL_URL: url, APH_DAL_TOKEN: token, APH_DATA: JSON.stringify({ big: datasetKey }) },
  stdio: ["ignore", "pipe", "inherit"]
})
let stdout = ""
child.stdout.on("data", (chunk) => (stdout += chunk))
const code = await new Promise((resolve) => child.on("close", resolve))
const seconds = (performance.now() - started) / 1000
server.close()
const [rssKiB, user, system] = hasTime ? (await Fs.readFile(timeFile, "utf8")).trim().split(/\s+/).map(Number) : []
const written = (await Fs.readdir(dest)).filter((name) => name !== "time")
await Fs.rm(dest, { recursive: true, force: true })
if (code !== 0) {
  log(`fedkit-dal exited with ${code}`)
  process.exit(1)
}
const plan = JSON.parse(stdout)
const expectedFolders = Math.ceil(entries / perFolder)
if (plan.files !== entries - expectedFolders || plan.folders !== expectedFolders || written.length !== 0) {
  log(`unexpected plan ${stdout.trim()} (or files written: ${written.join(", ")})`)
  process.exit(1)
}
const rss = rssKiB === undefined ? "n/a" : `${(rssKiB / 1024).toFixed(0)} MiB`
const cpu = user === undefined ? "n/a" : `${(user + system).toFixed(1)} s`
console.log(`| entries | order | wall | CPU | peak RSS | load (1 min) |`)
console.log(`| --- | --- | --- | --- | --- | --- |`)
console.log(
  `| ${entries} | ${unsorted ? "pages reversed" : "sorted"} | ${seconds.toFixed(1)} s | ${cpu} | ${rss} | ${
    Os.loadavg()[0].toFixed(2)
  } |`
)
