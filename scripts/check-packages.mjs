#!/usr/bin/env node
// Packs every publishable workspace package exactly as `pnpm publish` would (workspace: ranges rewritten) and checks
// the tarball with publint (strict: warnings fail) and @arethetypeswrong/cli (ESM-only profile), so consumers get
// working entry points and types. Run after `pnpm build`.
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { publint } from "publint"
import { formatMessage } from "publint/utils"
import { pnpmCommand } from "./bootstrap.mjs"

const root = fileURLToPath(new URL("..", import.meta.url))
const packagesDir = join(root, "packages")
const publishable = readdirSync(packagesDir)
  .map((name) => join(packagesDir, name))
  .filter((dir) => !JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).private)

const scratch = mkdtempSync(join(tmpdir(), "fedkit-pack-"))
const [pnpm, pnpmPrefix] = pnpmCommand()
let failures = 0
try {
  for (const dir of publishable) {
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))
    const packed = spawnSync(pnpm, [...pnpmPrefix, "pack", "--pack-destination", scratch], {
      cwd: dir,
      encoding: "utf8"
    })
    if (packed.status !== 0) {
      process.stderr.write(`${pkg.name}: pnpm pack failed:\n${packed.stderr}\n`)
      failures++
      continue
    }
    const tarball = readdirSync(scratch).map((file) => join(scratch, file)).find((file) =>
      file.endsWith(".tgz") && file.includes(pkg.name.replace("@", "").replace("/", "-"))
    )
    const bytes = readFileSync(tarball)
    const { messages, pkg: packedPkg } = await publint({
      pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) },
      strict: true,
      level: "warning"
    })
    for (const message of messages) {
      process.stderr.write(`${pkg.name}: publint ${message.type}: ${formatMessage(message, packedPkg)}\n`)
    }
    const publintOk = messages.every((message) => message.type !== "error")
    const attw = spawnSync(
      join(root, "node_modules", ".bin", "attw"),
      [tarball, "--profile", "esm-only", "--format", "table-flipped"],
      { encoding: "utf8" }
    )
    const attwOk = attw.status === 0
    if (!attwOk) process.stderr.write(`${pkg.name}: attw found problems:\n${attw.stdout}${attw.stderr}\n`)
    process.stdout.write(
      `${pkg.name.padEnd(28)} publint ${publintOk ? "ok" : "FAILED"}, attw ${attwOk ? "ok" : "FAILED"}\n`
    )
    if (!publintOk || !attwOk) failures++
  }
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
process.exit(failures === 0 ? 0 : 1)
