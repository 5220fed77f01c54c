#!/usr/bin/env node
// fedkit: create (idempotently) the project's NVIDIA FLARE Python virtual environment.
//
//   node tooling/flare/bootstrap.mjs [--json] [--force] [--help]
//   import { ensureFlareVenv } from "./tooling/flare/bootstrap.mjs";
//
// Dependency-free (node: built-ins only), Node >= 20, POSIX (Linux/macOS).
//
// Environment:
//   FEDKIT_FLARE_VENV  venv location (default: <repo root>/.venv-flare; relative paths are resolved from cwd)
//   FEDKIT_PYTHON      base interpreter to use (default: first of python3.12, python3.11, python3.10, python3 that is >= 3.10)
//
// Behaviour:
//   * A stamp file (<venv>/.fedkit-flare-stamp.json) is written LAST, after pip install and `nvflare --version`
//     succeeded. It records the sha256 of requirements.lock and the Python version. If the stamp matches,
//     nothing is spawned at all (no python, no pip).
//   * No stamp / stamp mismatch => the venv is deleted and rebuilt in place. (It is not built in a temporary
//     folder and renamed: venv console scripts such as bin/nvflare hardcode the venv path in their shebang, so a
//     renamed venv has a broken bin/nvflare.) An unstamped venv is therefore always treated as half-built.
//   * Concurrent runs are serialised with a lock directory next to the venv (<venv>.lock).

import { spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync
} from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const HERE = dirname(fileURLToPath(import.meta.url))
export const REPO_ROOT = resolve(HERE, "..", "..")
export const LOCK_FILE = join(HERE, "requirements.lock")
export const STAMP_NAME = ".fedkit-flare-stamp.json"
const STAMP_SCHEMA = 1
const MIN_PY = [3, 10]
const TESTED_PY_MINORS = [10, 11, 12]
const DEFAULT_CANDIDATES = ["python3.12", "python3.11", "python3.10", "python3"]
const LOCK_WAIT_MS = 20 * 60 * 1000
const PIP_TAIL_LINES = 40

export class FlareBootstrapError extends Error {
  constructor(message) {
    super(message)
    this.name = "FlareBootstrapError"
  }
}

const fail = (what, todo) => {
  throw new FlareBootstrapError(todo ? `${what} ${todo}` : what)
}

const BIN = process.platform === "win32" ? "Scripts" : "bin"
const EXE = process.platform === "win32" ? ".exe" : ""

function venvPaths(venvDir) {
  return {
    venvDir,
    python: join(venvDir, BIN, `python${EXE}`),
    nvflare: join(venvDir, BIN, `nvflare${EXE}`),
    stamp: join(venvDir, STAMP_NAME)
  }
}

function readStamp(stampPath) {
  try {
    const s = JSON.parse(readFileSync(stampPath, "utf8"))
    return s && typeof s === "object" ? s : null
  } catch {
    return null
  }
}

function parseVersion(s) {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(String(s ?? ""))
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null
}

const majorMinor = (v) => (v ? `${v[0]}.${v[1]}` : "")
const atLeast = (v, min) => v[0] > min[0] || (v[0] === min[0] && v[1] >= min[1])

/** Run `cmd -c ...` and return { version: [M,m,p], versionString, executable } or null if unusable. */
function probePython(cmd) {
  const code = "import json, sys; print(json.dumps({'v': list(sys.version_info[:3]), 'exe': sys.executable}))"
  const r = spawnSync(cmd, ["-c", code], { encoding: "utf8", timeout: 20_000, stdio: ["ignore", "pipe", "pipe"] })
  if (r.error || r.status !== 0) return null
  try {
    const info = JSON.parse(r.stdout.trim().split("\n").pop())
    const version = info.v.map(Number)
    return { cmd, version, versionString: version.join("."), executable: info.exe || cmd }
  } catch {
    return null
  }
}

function selectPython(explicit) {
  if (explicit) {
    const p = probePython(explicit)
    if (!p) {
      fail(
        `FEDKIT_PYTHON=${explicit} could not be run.`,
        "Point FEDKIT_PYTHON at a working Python >= 3.10 (or unset it)."
      )
    }
    if (!atLeast(p.version, MIN_PY)) {
      fail(
        `FEDKIT_PYTHON=${explicit} is Python ${p.versionString}; nvflare 2.9.0 needs >= 3.10.`,
        "Point FEDKIT_PYTHON at Python 3.10-3.12."
      )
    }
    return p
  }
  const seen = []
  for (const cmd of DEFAULT_CANDIDATES) {
    const p = probePython(cmd)
    if (!p) {
      seen.push(`${cmd}: not runnable`)
      continue
    }
    if (atLeast(p.version, MIN_PY)) return p
    seen.push(`${cmd}: ${p.versionString}`)
  }
  return fail(
    `No Python >= 3.10 found (${seen.join(", ")}).`,
    "Install Python 3.10-3.12 or set FEDKIT_PYTHON=/path/to/python3.x."
  )
}

function sha256File(file) {
  let data
  try {
    data = readFileSync(file)
  } catch (e) {
    fail(`Cannot read ${file} (${e.code ?? e.message}).`, "Restore tooling/flare/requirements.lock from git.")
  }
  return { sha256: createHash("sha256").update(data).digest("hex"), text: data.toString("utf8") }
}

function expectedNvflareVersion(lockText) {
  const m = /^\s*nvflare\s*==\s*([^\s;#]+)/im.exec(lockText)
  if (!m) {
    fail("requirements.lock has no 'nvflare==<version>' pin.", "Restore tooling/flare/requirements.lock from git.")
  }
  return m[1]
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function pidAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return e.code === "EPERM"
  }
}

/** Cross-process mutex: mkdir is atomic. Stale locks (dead owner pid) are broken. */
async function acquireLock(lockDir, log) {
  const deadline = Date.now() + LOCK_WAIT_MS
  let announced = false
  mkdirSync(dirname(lockDir), { recursive: true })
  for (;;) {
    try {
      mkdirSync(lockDir)
      writeFileSync(join(lockDir, "owner"), `${process.pid}\n`)
      let released = false
      return () => {
        if (released) return
        released = true
        rmSync(lockDir, { recursive: true, force: true })
      }
    } catch (e) {
      if (e.code !== "EEXIST") {
        fail(
          `Cannot create lock ${lockDir} (${e.code ?? e.message}).`,
          "Check that the venv's parent directory is writable."
        )
      }
    }
    let owner = NaN
    try {
      owner = Number.parseInt(readFileSync(join(lockDir, "owner"), "utf8"), 10)
    } catch {
      /* owner file not written yet, or lock just released */
    }
    let ageMs = 0
    try {
      ageMs = Date.now() - statSync(lockDir).mtimeMs
    } catch {
      continue // released in the meantime
    }
    if ((Number.isNaN(owner) && ageMs > 10_000) || (!Number.isNaN(owner) && !pidAlive(owner))) {
      log(`removing stale lock ${lockDir}`)
      rmSync(lockDir, { recursive: true, force: true })
      continue
    }
    if (Date.now() > deadline) {
      fail(
        `Timed out waiting for lock ${lockDir} (held by pid ${owner}).`,
        "If no other bootstrap is running, delete that directory and retry."
      )
    }
    if (!announced) {
      log(`waiting for another bootstrap (pid ${owner}) to finish...`)
      announced = true
    }
    await sleep(500)
  }
}

// Children started while building, so an interrupt can stop them (pip must not keep writing into a
// venv that the next run deletes).
const activeChildren = new Set()

/**
 * While fn runs: on SIGINT/SIGTERM/SIGHUP kill our children, run cleanup (release the lock), then re-raise
 * the signal with our handler removed, so the host process' own handling / default action still applies.
 */
async function withInterruptCleanup(cleanup, fn) {
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"]
  const handlers = new Map()
  const uninstall = () => {
    for (const [sig, h] of handlers) process.removeListener(sig, h)
    process.removeListener("exit", cleanup)
  }
  for (const sig of signals) {
    const h = () => {
      for (const c of activeChildren) c.kill("SIGTERM")
      cleanup()
      uninstall()
      process.stderr.write(
        `[flare-bootstrap] interrupted (${sig}); the unstamped venv will be rebuilt on the next run\n`
      )
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig)
    }
    handlers.set(sig, h)
    process.on(sig, h)
  }
  process.on("exit", cleanup)
  try {
    return await fn()
  } finally {
    uninstall()
    cleanup()
  }
}

/** Run a command; stream selected lines to the logger, keep a tail for error reports. */
function run(cmd, args, { log, filter, env } = {}) {
  return new Promise((resolvePromise) => {
    const tail = []
    const stdout = []
    let child
    try {
      child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: env ?? process.env })
    } catch (e) {
      resolvePromise({ code: -1, error: e, tail, stdout: "" })
      return
    }
    activeChildren.add(child)
    const onData = (isStdout) => {
      let buf = ""
      return (chunk) => {
        const s = chunk.toString("utf8")
        if (isStdout) stdout.push(s)
        buf += s
        const lines = buf.split(/\r?\n|\r/)
        buf = lines.pop()
        for (const line of lines) {
          if (!line.trim()) continue
          tail.push(line)
          if (tail.length > PIP_TAIL_LINES) tail.shift()
          if (log && filter && filter(line)) log(line.trim())
        }
      }
    }
    child.stdout.on("data", onData(true))
    child.stderr.on("data", onData(false))
    child.on("error", (e) => {
      activeChildren.delete(child)
      resolvePromise({ code: -1, error: e, tail, stdout: stdout.join("") })
    })
    child.on("close", (code, signal) => {
      activeChildren.delete(child)
      resolvePromise({ code: code ?? -1, signal, tail, stdout: stdout.join("") })
    })
  })
}

function looksLikeVenvOrEmpty(dir) {
  try {
    if (!statSync(dir).isDirectory()) return false
    const entries = readdirSync(dir)
    return entries.length === 0 || entries.includes("pyvenv.cfg") || entries.includes(STAMP_NAME)
  } catch {
    return false
  }
}

function removeVenv(venvDir, log) {
  if (!existsSync(venvDir)) return
  if (!looksLikeVenvOrEmpty(venvDir)) {
    fail(
      `${venvDir} exists but is not a Python venv; refusing to delete it.`,
      "Remove it yourself or set FEDKIT_FLARE_VENV to another path."
    )
  }
  log(`removing unstamped or outdated venv ${venvDir}`)
  rmSync(venvDir, { recursive: true, force: true })
}

function stampMatches(stamp, lockSha, wantMinor) {
  return (
    stamp &&
    stamp.schema === STAMP_SCHEMA &&
    stamp.lockSha256 === lockSha &&
    typeof stamp.pythonVersion === "string" &&
    (!wantMinor || majorMinor(parseVersion(stamp.pythonVersion)) === wantMinor)
  )
}

/**
 * Ensure the FLARE venv exists and matches requirements.lock.
 *
 * @param {object} [options]
 * @param {string} [options.venvDir]   default: $FEDKIT_FLARE_VENV or <repo root>/.venv-flare
 * @param {string} [options.python]    base interpreter; default: $FEDKIT_PYTHON, else auto-detect
 * @param {boolean} [options.force]    rebuild even if the stamp matches
 * @param {(line: string) => void} [options.log]  progress sink (default: stderr with a prefix)
 * @returns {Promise<{venvDir: string, python: string, nvflare: string, pythonVersion: string}>}
 */
export async function ensureFlareVenv(options = {}) {
  const log = options.log ?? ((line) => process.stderr.write(`[flare-bootstrap] ${line}\n`))
  const venvDir = resolve(options.venvDir ?? process.env.FEDKIT_FLARE_VENV ?? join(REPO_ROOT, ".venv-flare"))
  const explicitPython = options.python ?? (process.env.FEDKIT_PYTHON || undefined)
  const paths = venvPaths(venvDir)
  const { sha256: lockSha, text: lockText } = sha256File(LOCK_FILE)

  const result = (pythonVersion) => ({
    venvDir,
    python: paths.python,
    nvflare: paths.nvflare,
    pythonVersion
  })

  // Fast path: stamp matches and the interpreter/entry point are still there (existsSync follows the
  // bin/python symlink, so a removed base interpreter counts as a mismatch). Spawns nothing unless an
  // explicit interpreter was requested, in which case its major.minor must match the stamp.
  const fastCheck = (wantMinor) => {
    const stamp = readStamp(paths.stamp)
    if (stampMatches(stamp, lockSha, wantMinor) && existsSync(paths.python) && existsSync(paths.nvflare)) return stamp
    return null
  }

  let chosen = null
  let wantMinor = ""
  if (explicitPython) {
    chosen = selectPython(explicitPython)
    wantMinor = majorMinor(chosen.version)
  }
  if (!options.force) {
    const stamp = fastCheck(wantMinor)
    if (stamp) return result(stamp.pythonVersion)
  }

  const release = await acquireLock(`${venvDir}.lock`, log)
  return withInterruptCleanup(release, async () => {
    // Another process may have finished the build while we waited for the lock.
    if (!options.force) {
      const stamp = fastCheck(wantMinor)
      if (stamp) return result(stamp.pythonVersion)
    }
    chosen ??= selectPython(undefined)
    if (!TESTED_PY_MINORS.some((m) => chosen.version[0] === 3 && chosen.version[1] === m)) {
      log(`warning: Python ${chosen.versionString} is outside the tested range 3.10-3.12 for requirements.lock`)
    }

    const t0 = Date.now()
    removeVenv(venvDir, log)
    mkdirSync(dirname(venvDir), { recursive: true })

    log(`creating venv ${venvDir} with ${chosen.executable} (Python ${chosen.versionString})`)
    const mk = await run(chosen.executable, ["-m", "venv", venvDir], { log, filter: () => true })
    if (mk.code !== 0 || !existsSync(paths.python)) {
      const detail = (mk.error?.message ?? mk.tail.join(" ")).replace(/\s+/g, " ").trim()
      const hint = /ensurepip|venv/i.test(detail)
        ? "Install the venv module (Debian/Ubuntu: apt-get install python3.X-venv) or set FEDKIT_PYTHON."
        : "Check the interpreter or set FEDKIT_PYTHON to another Python >= 3.10."
      fail(`Creating the venv with ${chosen.executable} failed: ${detail.slice(0, 300) || `exit ${mk.code}`}.`, hint)
    }

    log(`installing ${LOCK_FILE} (pip progress below; ~30-80 s)`)
    const pipEnv = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_NO_INPUT: "1", PYTHONNOUSERSITE: "1" }
    delete pipEnv.PYTHONPATH
    delete pipEnv.PIP_USER
    const pip = await run(
      paths.python,
      ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off", "-r", LOCK_FILE],
      {
        log,
        env: pipEnv,
        filter: (l) => /^(Collecting|Building|Installing|Successfully|ERROR|error:|WARNING)/.test(l.trim())
      }
    )
    if (pip.code !== 0) {
      for (const line of pip.tail) process.stderr.write(`  | ${line}\n`)
      const err = [...pip.tail].reverse().find((l) => /^ERROR|error:/i.test(l.trim())) ?? `exit ${pip.code}`
      fail(
        `pip install -r requirements.lock failed: ${err.trim().slice(0, 300)}.`,
        "Check network access to PyPI (proxy / PIP_INDEX_URL), then rerun; the half-built venv will be rebuilt."
      )
    }

    const want = expectedNvflareVersion(lockText)
    const ver = await run(paths.nvflare, ["--version"], { env: pipEnv })
    const out = ver.stdout.trim()
    // nvflare 2.9.0 prints exactly: "NVFlare version is 2.9.0"
    const got = /NVFlare version is\s+(\S+)/i.exec(out)?.[1]
    if (ver.code !== 0 || got !== want) {
      fail(
        `Verification failed: '${paths.nvflare} --version' printed '${
          (out || ver.tail.join(" ")).slice(0, 200)
        }' (exit ${ver.code}), expected ${want}.`,
        "Rerun with --force; if it persists, check requirements.lock."
      )
    }

    const stamp = {
      schema: STAMP_SCHEMA,
      lockSha256: lockSha,
      pythonVersion: chosen.versionString,
      baseInterpreter: chosen.executable,
      nvflareVersion: got,
      createdAt: new Date().toISOString()
    }
    const tmp = `${paths.stamp}.tmp-${process.pid}`
    writeFileSync(tmp, `${JSON.stringify(stamp, null, 2)}\n`)
    renameSync(tmp, paths.stamp) // atomic: the stamp is the last thing written
    log(`ready: nvflare ${got} on Python ${chosen.versionString} in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
    return result(chosen.versionString)
  })
}

function isMain() {
  if (!process.argv[1]) return false
  try {
    return import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href
  } catch {
    return false
  }
}

async function main(argv) {
  const known = new Set(["--json", "--force", "--help", "-h"])
  const bad = argv.filter((a) => !known.has(a))
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(
      [
        "usage: node tooling/flare/bootstrap.mjs [--json] [--force]",
        "Creates/validates the FLARE venv (default <repo>/.venv-flare) from tooling/flare/requirements.lock.",
        "  --json   print {venvDir, python, nvflare, pythonVersion} as JSON on stdout",
        "  --force  rebuild even if the stamp matches",
        "env: FEDKIT_FLARE_VENV (venv path), FEDKIT_PYTHON (base interpreter)",
        ""
      ].join("\n")
    )
    return 0
  }
  if (bad.length) {
    process.stderr.write(`flare-bootstrap: error: unknown argument ${bad[0]}. Run with --help.\n`)
    return 2
  }
  try {
    const r = await ensureFlareVenv({ force: argv.includes("--force") })
    if (argv.includes("--json")) process.stdout.write(`${JSON.stringify(r)}\n`)
    else process.stdout.write(`FLARE venv ready: ${r.venvDir} (Python ${r.pythonVersion}, nvflare: ${r.nvflare})\n`)
    return 0
  } catch (e) {
    const msg = e instanceof FlareBootstrapError ? e.message : `unexpected failure: ${e?.stack?.split("\n")[0] ?? e}`
    process.stderr.write(`flare-bootstrap: error: ${msg.replace(/\s*\n\s*/g, " ")}\n`)
    return 1
  }
}

if (isMain()) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code
  })
}
