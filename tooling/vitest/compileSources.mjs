// Compiles a package's sources (its tsconfig.src.json) into a folder of the test's own, without declarations or
// source maps: what `build` produces for the bin, for tests that spawn it without depending on (or racing with) the
// build task's `dist`, which it may `rm -rf` at any time.
import { execFileSync } from "node:child_process"
import { createRequire } from "node:module"
import { join } from "node:path"

/** Compiles `packageDir`'s sources into `outDir`. */
export const compileSources = (packageDir, outDir) => {
  const tsc = createRequire(join(packageDir, "package.json")).resolve("typescript/bin/tsc")
  execFileSync(process.execPath, [
    tsc,
    "-p",
    join(packageDir, "tsconfig.src.json"),
    "--outDir",
    outDir,
    "--declaration",
    "false",
    "--declarationMap",
    "false",
    "--sourceMap",
    "false"
  ], { stdio: "inherit" })
}
