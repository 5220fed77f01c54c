// Shared helpers of `pnpm images`: running commands, buildah with the project's storage settings, timing.
import { spawn, spawnSync } from "node:child_process"
import { closeSync, openSync, readFileSync } from "node:fs"
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

/**
 * Runs a command in the background, its output written to `logFile` (so that several can run at once); resolves when
 * it exits 0, fails with the last lines of its output otherwise.
 */
export const runLogged = (command, args, logFile) =>
  new Promise((resolve, reject) => {
    const fd = openSync(logFile, "w")
    const child = spawn(command, args, { cwd: repoRoot, stdio: ["ignore", fd, fd] })
    closeSync(fd)
    child.on("error", (error) => reject(new StepFailed(`${command}: ${error.message}`)))
    child.on("close", (code) => {
      if (code === 0) return resolve()
      const tail = readFileSync(logFile, "utf8").trim().split("\n").slice(-3).join(" | ")
      reject(
        new StepFailed(`${command} ${args.slice(0, 4).join(" ")} … exited ${code}: ${tail} (all of it: ${logFile})`)
      )
    })
  })

export const buildah = (args, options) => run("buildah", [...BUILDAH_GLOBALS, ...args], options)

const BUD = ["bud", "--isolation", "chroot", "--layers=false"]

/**
 * `buildah bud` with chroot isolation and one layer per image: vfs copies a whole root filesystem per layer, so
 * per-step layers would cost minutes.
 */
export const bud = (args, options) => buildah([...BUD, ...args], options)

const STEP = /^(\[\d+\/\d+\] )?(STEP \d+\/\d+: |COMMIT )/

/**
 * `bud` for the Dockerfiles, with independent stages built at once (`--jobs`: the Node build and the Python
 * environment of the model image), output passed through, and the time of each step measured. buildah announces each
 * instruction (`[stage/stages] STEP n/m: …`), the commit (`COMMIT …`) and its end (`Successfully tagged`, then it
 * removes the build's working containers). A step lasts until the next announcement of its stage; the last step of a
 * stage that runs beside another has no end to observe (it shows as the wait of the stage that copies from it).
 * Resolves with `{ line, at, seconds }[]` (`at`: seconds into the build); fails with a one-line reason.
 */
export const budTimed = (args) =>
  new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn("buildah", [...BUILDAH_GLOBALS, ...BUD, "--jobs=2", ...args], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "inherit"]
    })
    const marks = []
    let pending = ""
    const mark = (line, stage) => marks.push({ line, stage, at: Number(process.hrtime.bigint() - started) / 1e9 })
    child.stdout.on("data", (chunk) => {
      process.stdout.write(chunk)
      pending += chunk
      const lines = pending.split("\n")
      pending = lines.pop()
      for (const line of lines) {
        const step = STEP.exec(line)
        if (step !== null) mark(line, step[1] ?? "")
        else if (line.startsWith("Successfully tagged ")) mark("removing the build's working containers", "end")
      }
    })
    child.on("error", (error) => reject(new StepFailed(`buildah: ${error.message}`)))
    child.on("close", (code) => {
      const end = Number(process.hrtime.bigint() - started) / 1e9
      if (code !== 0) return reject(new StepFailed(`buildah bud ${args.slice(0, 2).join(" ")} … exited ${code}`))
      const finalStage = marks.findLast((m) => m.line.includes("COMMIT "))?.stage
      resolve(marks.map(({ at, line, stage }, i) => {
        const next = marks.slice(i + 1).find((m) => m.stage === stage || (stage === finalStage && m.stage === "end"))
        const seconds = next !== undefined ? next.at - at : i === marks.length - 1 ? end - at : undefined
        return { line, at, seconds }
      }))
    })
  })

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
