/**
 * Compiles the CLI for the tests that spawn it, into a private folder: the package's own `dist` belongs to the
 * build task, which may run (and `rm -rf dist`) at the same time as the tests.
 */
import { execFileSync } from "node:child_process"
import { copyFileSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

// Under node_modules/.cache: ignored by git and by the linter, like any build cache. Laid out as the package is
// installed (`dist/` beside `package.json`), since the CLI reads its version from there.
const installDir = fileURLToPath(new URL("../node_modules/.cache/fedkit-dal-cli", import.meta.url))
export const cliDir = `${installDir}/dist`

export default function setup() {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
  execFileSync(process.execPath, [
    tsc,
    "-p",
    fileURLToPath(new URL("../tsconfig.src.json", import.meta.url)),
    "--outDir",
    cliDir,
    "--declaration",
    "false",
    "--declarationMap",
    "false",
    "--sourceMap",
    "false"
  ], { stdio: "inherit" })
  copyFileSync(fileURLToPath(new URL("../package.json", import.meta.url)), `${installDir}/package.json`)
}
