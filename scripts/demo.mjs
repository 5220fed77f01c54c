#!/usr/bin/env node
// The quick start's main job: the reference model (apps/gateway-trainer) trained across three simulated Compute
// Gateways by real NVIDIA FLARE, each gateway reading its shard through its own local DAL token. Arguments are passed
// on (for example `--target poc`). Run through `pnpm demo`, which bootstraps and builds first.
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const demo = fileURLToPath(new URL("../apps/gateway-trainer/dist/demo.js", import.meta.url))
const result = spawnSync(process.execPath, [demo, ...process.argv.slice(2)], { stdio: "inherit" })
process.exit(result.status ?? 1)
