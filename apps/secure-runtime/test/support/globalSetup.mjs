// Compiles the current sources once per test run into a temporary folder, so the CLI tests run what `build` would
// produce without depending on (or racing with) `pnpm build`. The folder's node_modules points at the package's.
import { execFileSync } from "node:child_process"
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const packageDir = fileURLToPath(new URL("../..", import.meta.url))

export default async function setup({ provide }) {
  const dir = await mkdtemp(join(tmpdir(), "fedkit-secure-runtime-test-"))
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
  execFileSync(process.execPath, [
    tsc,
    "-p",
    join(packageDir, "tsconfig.src.json"),
    "--outDir",
    join(dir, "dist"),
    "--declaration",
    "false",
    "--declarationMap",
    "false",
    "--sourceMap",
    "false"
  ], { stdio: "inherit" })
  await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module" }))
  await symlink(join(packageDir, "node_modules"), join(dir, "node_modules"), "dir")
  provide("compiledDir", dir)
  return () => rm(dir, { recursive: true, force: true })
}
