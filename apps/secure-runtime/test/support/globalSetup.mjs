// Compiles the current sources once per test run into a temporary folder, so the CLI tests run what `build` would
// produce without depending on (or racing with) `pnpm build`. The folder's node_modules points at the package's.
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { compileSources } from "../../../../tooling/vitest/compileSources.mjs"

const packageDir = fileURLToPath(new URL("../..", import.meta.url))

export default async function setup({ provide }) {
  const dir = await mkdtemp(join(tmpdir(), "fedkit-secure-runtime-test-"))
  compileSources(packageDir, join(dir, "dist"))
  await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module" }))
  await symlink(join(packageDir, "node_modules"), join(dir, "node_modules"), "dir")
  provide("compiledDir", dir)
  return () => rm(dir, { recursive: true, force: true })
}
