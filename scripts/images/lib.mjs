// Shared helpers of `pnpm images`: running commands, buildah with the project's storage settings, timing.
import { spawnSync } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..")

/** Root's default buildah storage (/var/lib/containers/storage), with the vfs driver: works without overlay support. */
export const BUILDAH_GLOBALS = ["--storage-driver", "vfs"]

export class StepFailed extends Error {}

/**
 * Runs a command, output passed through (or captured with `capture: true`), and fails with a one-line reason when
 * it exits non-zero.
 */
export const run = (command, args, options = {}) => {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? repoRoot,
    env: options.env ?? process.env,
    input: options.input,
    encoding: "utf8",
    maxBuffer: 1 << 30,
    stdio: options.capture ? ["pipe", "pipe", "pipe"] : ["pipe", "inherit", "inherit"]
  })
  if (result.error !== undefined) throw new StepFailed(`${command}: ${result.error.message}`)
  if (result.status !== 0 && !options.allowFailure) {
    const detail = options.capture ? `: ${String(result.stderr).trim().split("\n").slice(-3).join(" | ")}` : ""
    throw new StepFailed(`${command} ${args.slice(0, 4).join(" ")} … exited ${result.status}${detail}`)
  }
  return result
}

export const buildah = (args, options) => run("buildah", [...BUILDAH_GLOBALS, ...args], options)

/**
 * `buildah bud` with chroot isolation and one layer per image: vfs copies a whole root filesystem per layer, so
 * per-step layers would cost minutes.
 */
export const bud = (args, options) => buildah(["bud", "--isolation", "chroot", "--layers=false", ...args], options)

/** Whether an image of that name is in the storage. */
export const imageExists = (name) =>
  buildah(["inspect", "--type", "image", name], { capture: true, allowFailure: true }).status === 0

export const log = (line) => process.stderr.write(`[images] ${line}\n`)

/** Runs `fn`, logs and returns its duration in seconds along with its value. */
export const timed = async (label, fn) => {
  const started = process.hrtime.bigint()
  log(`${label} …`)
  const value = await fn()
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  log(`${label}: ${seconds.toFixed(1)} s`)
  return { seconds, value }
}

/**
 * The bookkeeping of a check run: `ok(line)` logs and records a passed check, `check(condition, message)` fails the
 * run with a message naming the image.
 */
export const checkRun = (image) => {
  const passed = []
  return {
    passed,
    ok: (line) => {
      passed.push(line)
      log(`  ok: ${line}`)
    },
    check: (condition, message) => {
      if (!condition) throw new StepFailed(`${image}: ${message}`)
    }
  }
}
