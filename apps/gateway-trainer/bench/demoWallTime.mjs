// One timed run of the demo (`node dist/demo.js`, after `pnpm build`): its wall time from start to exit, the FLARE
// run's own time as the demo reports it, and its result line. Figures only, no assertion on time.
// Usage: pnpm bench:demo [--target simulator|poc] [PAYLOAD_JSON]
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const demo = fileURLToPath(new URL("../dist/demo.js", import.meta.url))
const started = process.hrtime.bigint()
const child = spawn(process.execPath, [demo, ...process.argv.slice(2)], { stdio: ["ignore", "pipe", "ignore"] })
let stdout = ""
child.stdout.setEncoding("utf8").on("data", (chunk) => (stdout += chunk))
const code = await new Promise((resolve) => child.on("close", resolve))
const seconds = Number(process.hrtime.bigint() - started) / 1e9
const lines = stdout.trimEnd().split("\n")
const flare = lines.find((line) => line.startsWith("FLARE:"))
console.log(`demo ${process.argv.slice(2).join(" ") || "(simulator, default payload)"}: exit ${code}`)
console.log(`  wall time          ${seconds.toFixed(1)} s (DAL, render, FLARE run, evaluation, central baseline)`)
if (flare !== undefined) console.log(`  ${flare.replace(/\s+/g, " ")}`)
console.log(`  ${lines.at(-1) ?? "(no output)"}`)
process.exitCode = code === 0 ? 0 : 1
