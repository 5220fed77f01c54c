#!/usr/bin/env node
// The one test command (README quick start, CI): bootstrap, then build, typecheck, lint and test every workspace
// package with turbo, check every README's outline (scripts/check-readmes.mjs), check every publishable package's
// tarball with publint and attw, run the consumer test (scripts/consumer: a rehearsed publish to a local registry, then
// the READMEs' install lines and first examples in scratch projects on Node 20, 22 and 24), and close with one summary
// line `N passed, N failed, N skipped` aggregated from the per-package Vitest JSON reports.
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { bootstrap } from "./bootstrap.mjs"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const workspaceDirs = ["packages", "apps", "tooling"].flatMap((group) =>
  existsSync(join(root, group))
    ? readdirSync(join(root, group), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(root, group, entry.name, "package.json")))
      .map((entry) => join(root, group, entry.name))
    : []
)
const reportOf = (dir) => join(dir, ".vitest", "report.json")

await bootstrap()

// Stale reports must not count: turbo restores the cached ones for tasks it does not re-run.
for (const dir of workspaceDirs) rmSync(reportOf(dir), { force: true })

const step = (label, command, args) => {
  process.stderr.write(`\n[test] ${label}\n`)
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" }
  })
  return result.status === 0
}

const turbo = join(root, "node_modules", ".bin", "turbo")
const checksOk = step("build, typecheck and lint every package", turbo, [
  "run",
  "build",
  "typecheck",
  "lint",
  "--continue"
])
// One package's tests at a time: several run real FLARE deployments (simulator, POC) with timeouts, and two of them
// side by side on a 2-core machine would measure the machine, not the code. Each Vitest run still uses every core.
const testsOk = step("test every package, one package at a time", turbo, [
  "run",
  "test",
  "--continue",
  "--concurrency=1"
])
const readmesOk = step("check every README's outline (scripts/check-readmes.mjs)", process.execPath, [
  join(root, "scripts", "check-readmes.mjs")
])
const turboOk = checksOk && testsOk
const packagesOk = step("check the packed tarball of every publishable package (publint, attw)", process.execPath, [
  join(root, "scripts", "check-packages.mjs")
])
const consumersOk = checksOk && step(
  "consumer test: publish to a local registry, install and run as the READMEs say (Node 20, 22, 24)",
  process.execPath,
  [join(root, "scripts", "consumer", "run.mjs")]
)

let passed = 0
let failed = 0
let skipped = 0
const missing = []
process.stdout.write("\n")
for (const dir of workspaceDirs) {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))
  if (pkg.scripts?.test === undefined) continue
  if (!existsSync(reportOf(dir))) {
    missing.push(relative(root, dir))
    continue
  }
  const report = JSON.parse(readFileSync(reportOf(dir), "utf8"))
  const pkgSkipped = report.numPendingTests + report.numTodoTests
  passed += report.numPassedTests
  failed += report.numFailedTests
  skipped += pkgSkipped
  process.stdout.write(
    `${pkg.name.padEnd(28)} ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${pkgSkipped} skipped\n`
  )
}
if (missing.length > 0) process.stdout.write(`no test report (tests did not run): ${missing.join(", ")}\n`)
if (!packagesOk) process.stdout.write("package checks (publint, attw): FAILED, see above\n")
if (!consumersOk) process.stdout.write("consumer test: FAILED (or not run: the build failed), see above\n")
if (!turboOk) process.stdout.write("turbo run: a build, typecheck, lint or test task FAILED, see above\n")
if (!readmesOk) process.stdout.write("READMEs: one is not in the house outline, see above\n")
process.stdout.write(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`)
process.exit(turboOk && readmesOk && packagesOk && consumersOk && failed === 0 && missing.length === 0 ? 0 : 1)
