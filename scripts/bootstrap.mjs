#!/usr/bin/env node
// Brings a fresh clone to a runnable state, idempotently: the workspace's npm dependencies (pnpm, frozen lockfile)
// and the project's NVIDIA FLARE virtual environment. Both quick-start commands start here.
import { spawnSync } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const PNPM_VERSION = "10.34.8"

/** Runs pnpm the way this process was started (pnpm sets npm_execpath), else through npx at the pinned version. */
export const pnpmCommand = () => {
  const execPath = process.env.npm_execpath
  if (execPath !== undefined && /pnpm\.c?js$/.test(execPath)) return [process.execPath, [execPath]]
  return ["npx", ["-y", `pnpm@${PNPM_VERSION}`]]
}

const run = (label, command, args, options = {}) => {
  process.stderr.write(`[bootstrap] ${label}\n`)
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", ...options })
  if (result.status !== 0) {
    process.stderr.write(
      `[bootstrap] failed: ${label} (exit ${result.status ?? result.signal}); fix the error above and run it again\n`
    )
    process.exit(result.status ?? 1)
  }
}

export const bootstrap = async () => {
  const [command, prefix] = pnpmCommand()
  run("installing workspace dependencies (pnpm install --frozen-lockfile)", command, [
    ...prefix,
    "install",
    "--frozen-lockfile",
    "--prefer-offline",
    "--reporter=append-only"
  ])
  const { ensureFlareVenv } = await import("../tooling/flare/bootstrap.mjs")
  const venv = await ensureFlareVenv()
  process.stderr.write(`[bootstrap] NVIDIA FLARE environment ready at ${venv.venvDir}\n`)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await bootstrap()
}
