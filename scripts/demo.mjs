#!/usr/bin/env node
// The quick start's main job. Until the gateway-trainer demo lands (issue 7) it is the FLARE smoke job: a real
// numpy FedAvg job run by nvflare simulator from the project's environment, its global model checked.
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const demo = fileURLToPath(new URL("../tooling/flare/dist/demo.js", import.meta.url))
const result = spawnSync(process.execPath, [demo, ...process.argv.slice(2)], { stdio: "inherit" })
process.exit(result.status ?? 1)
