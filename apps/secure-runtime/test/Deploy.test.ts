import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFileSync } from "node:child_process"
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { inject } from "vitest"
import { runCli } from "./support/cli.js"
import { DATASET2GW, fixture, VALID } from "./support/fixtures.js"

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url))

/** pnpm as the conventions run it: the one running this test when there is one, else a pinned npx. */
const pnpm = (args: ReadonlyArray<string>) => {
  const execPath = process.env["npm_execpath"]
  return execPath !== undefined && /pnpm/.test(execPath)
    ? execFileSync(process.execPath, [execPath, ...args], { cwd: repoRoot, stdio: "pipe" })
    : execFileSync("npx", ["-y", "pnpm@10.34.8", ...args], { cwd: repoRoot, stdio: "pipe" })
}

/** Every symbolic link under `dir`, with its target, to check that none leads back into the workspace. */
const links = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name)
    if (entry.isSymbolicLink()) return [readlinkSync(full)]
    return entry.isDirectory() ? links(full) : []
  })

describe("pnpm deploy", () => {
  it.live("the deployed app runs outside the workspace, laid out as in the Docker image", () =>
    Effect.gen(function*() {
      const work = mkdtempSync(join(tmpdir(), "fedkit-sr-deploy-"))
      pnpm(["--filter", "@fedkit/secure-runtime", "--prod", "deploy", join(work, "out")])
      // The image runs what `build` compiles; the test runs the same sources, compiled for this run.
      rmSync(join(work, "out", "dist"), { recursive: true, force: true })
      cpSync(join(inject("compiledDir"), "dist"), join(work, "out", "dist"), { recursive: true })

      const root = join(work, "image")
      const app = join(root, "opt", "secure-runtime")
      mkdirSync(join(root, "opt"), { recursive: true })
      cpSync(join(work, "out"), app, { recursive: true, verbatimSymlinks: true })
      rmSync(join(work, "out"), { recursive: true, force: true })
      assert.isFalse(links(app).some((target) => target.startsWith(repoRoot)))
      assert.deepStrictEqual(readdirSync(join(app, "node_modules", "@fedkit")).sort(), [
        "cli-policy",
        "flare-config",
        "job-packager",
        "runtime-core"
      ])
      assert.isFalse(
        lstatSync(join(app, "node_modules", "@fedkit", "runtime-core")).isSymbolicLink() &&
          readlinkSync(join(app, "node_modules", "@fedkit", "runtime-core")).startsWith(repoRoot)
      )

      const runtimeDir = join(root, "usr", "secure_runtime", "src", "secure_runtime")
      mkdirSync(runtimeDir, { recursive: true })
      cpSync(fixture("good"), runtimeDir, { recursive: true })
      symlinkSync(join(app, "node_modules"), join(root, "usr", "secure_runtime", "node_modules"), "dir")

      const result = yield* Effect.promise(() =>
        runCli([
          "render",
          "--module",
          runtimeDir,
          "--payload",
          "-",
          "--dataset2gw",
          JSON.stringify(DATASET2GW),
          "--out",
          join(root, "jobs"),
          "--json"
        ], { input: JSON.stringify(VALID), cwd: root, bin: join(app, "dist", "bin.js") })
      )
      assert.strictEqual(result.code, 0, result.stderr)
      const summary = JSON.parse(result.stdout)
      assert.isTrue(summary.folder.startsWith(join(root, "jobs")))
      assert.isTrue(existsSync(join(summary.folder, "app", "custom", "client.py")))
      const meta = JSON.parse(readFileSync(join(summary.folder, "meta.json"), "utf8"))
      assert.deepStrictEqual(meta.deploy_map, { app: ["server", "gateway-1", "gateway-2"] })
      rmSync(work, { recursive: true, force: true })
    }), { timeout: 180_000 })
})
