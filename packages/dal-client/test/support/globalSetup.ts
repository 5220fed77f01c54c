/**
 * Compiles the CLI for the tests that spawn it, into a private folder: the package's own `dist` belongs to the
 * build task, which may run (and `rm -rf dist`) at the same time as the tests.
 */
import { copyFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { compileSources } from "../../../../tooling/vitest/compileSources.mjs"

// Under node_modules/.cache: ignored by git and by the linter, like any build cache. Laid out as the package is
// installed (`dist/` beside `package.json`), since the CLI reads its version from there.
const installDir = fileURLToPath(new URL("../../node_modules/.cache/fedkit-dal-cli", import.meta.url))
export const cliDir = `${installDir}/dist`

export default function setup() {
  compileSources(fileURLToPath(new URL("../..", import.meta.url)), cliDir)
  copyFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), `${installDir}/package.json`)
}
