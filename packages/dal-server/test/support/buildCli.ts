/**
 * Vitest global setup: compiles the current sources once into `node_modules/.cache/dal-server-cli-test`, laid out as
 * installed (`dist/` beside `package.json`, since the CLI reads its version from there) and inside node_modules so
 * the bin resolves its dependencies like an install does. Test files that spawn `fedkit-dal-server` use it.
 */
import { copyFileSync } from "node:fs"
import * as path from "node:path"
import { compileSources } from "../../../../tooling/vitest/compileSources.mjs"
import { cliInstallDir, packageDir } from "./cli.js"

export default function setup(): void {
  compileSources(packageDir, path.join(cliInstallDir, "dist"))
  copyFileSync(path.join(packageDir, "package.json"), path.join(cliInstallDir, "package.json"))
}
