/**
 * Vitest global setup: compiles the current sources once into `node_modules/.cache/dal-server-cli-test`, laid out as
 * installed (`dist/` beside `package.json`, since the CLI reads its version from there) and inside node_modules so
 * the bin resolves its dependencies like an install does. Test files that spawn `fedkit-dal-server` use it.
 */
import { execFileSync } from "node:child_process"
import { copyFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { cliInstallDir, packageDir } from "./cli.js"

export default function setup(): void {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
  execFileSync(process.execPath, [
    tsc,
    "-p",
    path.join(packageDir, "tsconfig.src.json"),
    "--outDir",
    path.join(cliInstallDir, "dist"),
    "--declaration",
    "false",
    "--declarationMap",
    "false",
    "--sourceMap",
    "false"
  ])
  copyFileSync(path.join(packageDir, "package.json"), path.join(cliInstallDir, "package.json"))
}
