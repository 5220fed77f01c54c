#!/usr/bin/env node
// Rewrites compiled files of the package in the current directory (after tsc) as esbuild bundles, in place.
//
//   node ../../tooling/build/bundle.mjs --bin dist/bin.js          the CLI: one self-contained file, so the package
//                                                                  needs no runtime dependency for its bin alone
//   node ../../tooling/build/bundle.mjs --vendor dist/internal/node.js
//                                                                  a module re-exporting parts of a dev dependency:
//                                                                  that code is inlined, the peers stay imports
//
// Why: loading one module instead of several hundred takes a CLI's start-up from ~0.55 s and ~87 MB to ~0.15 s and
// ~57 MB; and the Node file system, stream and process adapters of `@effect/platform-node-shared` depend only on
// `effect` and `@effect/platform`, while installing that package (or `@effect/platform-node`) brings
// `@effect/cluster`, `@effect/rpc`, `@effect/sql`, `@effect/workflow` and native install scripts to every consumer.
import { chmodSync } from "node:fs"
import { createRequire } from "node:module"
import { join } from "node:path"

// esbuild is a dev dependency of the package being built, not of this folder.
const { build } = createRequire(join(process.cwd(), "package.json"))("esbuild")

const [mode, ...files] = process.argv.slice(2)
if ((mode !== "--bin" && mode !== "--vendor") || files.length === 0) {
  process.stderr.write("usage: bundle.mjs --bin|--vendor <compiled file>...\n")
  process.exit(2)
}

// The peers every fedkit package shares with its consumer: one copy of each in the consumer's program.
const peers = ["effect", "@effect/platform"]

for (const file of files) {
  await build({
    entryPoints: [file],
    outfile: file,
    allowOverwrite: true,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    legalComments: "none",
    logLevel: "warning",
    ...(mode === "--bin"
      ? {
        // CommonJS dependencies bundled into an ES module still call require()
        banner: {
          js:
            "import { createRequire as __fedkitRequire } from \"node:module\"; const require = __fedkitRequire(import.meta.url);"
        }
      }
      : { external: peers })
  })
  if (mode === "--bin") chmodSync(file, 0o755)
}
