#!/usr/bin/env node
// Rewrites compiled files of the package in the current directory (after tsc) as esbuild bundles, in place.
//
//   node ../../tooling/build/bundle.mjs --bin dist/bin.js          the CLI: one self-contained file (dist/bin.cjs and
//                                                                  the bundle it runs), so the package needs no
//                                                                  runtime dependency for its bin alone
//   node ../../tooling/build/bundle.mjs --vendor dist/internal/node.js
//                                                                  a module re-exporting parts of a dev dependency:
//                                                                  that code is inlined, the peers stay imports
//
// Why: loading one module instead of several hundred takes a CLI's start-up from ~0.55 s and ~87 MB to ~0.15 s and
// ~57 MB; and the Node file system, stream and process adapters of `@effect/platform-node-shared` depend only on
// `effect` and `@effect/platform`, while installing that package (or `@effect/platform-node`) brings
// `@effect/cluster`, `@effect/rpc`, `@effect/sql`, `@effect/workflow` and native install scripts to every consumer.
//
// A bin becomes two files: the bundle, as CommonJS (`dist/bin.bundle.cjs`: V8 can cache the compiled code of a script,
// not of an ES module, on Node 20), and a small loader (`dist/bin.cjs`, from binLoader.cjs) that runs the bundle with
// that cache: parsing and compiling the ~1 MB bundle was about a third of a CLI's start-up.
import { createHash } from "node:crypto"
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { basename, join } from "node:path"

// esbuild is a dev dependency of the package being built, not of this folder.
const { build } = createRequire(join(process.cwd(), "package.json"))("esbuild")

const [mode, ...files] = process.argv.slice(2)
if ((mode !== "--bin" && mode !== "--vendor") || files.length === 0) {
  process.stderr.write("usage: bundle.mjs --bin|--vendor <compiled file>...\n")
  process.exit(2)
}

// The peers every fedkit package shares with its consumer: one copy of each in the consumer's program.
const peers = ["effect", "@effect/platform"]

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  legalComments: "none",
  logLevel: "warning"
}

const bundleVendor = (file) =>
  build({ ...common, entryPoints: [file], outfile: file, allowOverwrite: true, format: "esm", external: peers })

// `dist/bin.js` (compiled) becomes `dist/bin.bundle.cjs` (the bundle) and `dist/bin.cjs` (the loader, with the
// compiled bin's hashbang line, so that its Node flags stay); the package's launcher in bin/ requires the loader.
const bundleBin = async (file) => {
  const compiled = readFileSync(file, "utf8")
  const hashbang = compiled.startsWith("#!") ? compiled.slice(0, compiled.indexOf("\n") + 1) : ""
  const bundleFile = file.replace(/\.js$/, ".bundle.cjs")
  await build({
    ...common,
    entryPoints: [file],
    outfile: bundleFile,
    format: "cjs",
    // `import.meta.url` of the sources (a package's own package.json is read relative to it) is the bundle's URL.
    define: { "import.meta.url": "__fedkitImportMetaUrl" },
    banner: { js: "const __fedkitImportMetaUrl = require(\"node:url\").pathToFileURL(__filename).href;" }
  })
  // The loader wraps the bundle in a function: a hashbang line kept by esbuild would not parse there.
  const bundled = readFileSync(bundleFile, "utf8").replace(/^#!.*\n/, "")
  // esbuild escapes non-ASCII characters in code, not in the comments it keeps: an ASCII bundle is read as Latin-1,
  // which makes a one-byte string without UTF-8 decoding.
  const encoding = /^[\x00-\x7f]*$/.test(bundled) ? "latin1" : "utf8"
  writeFileSync(bundleFile, bundled)
  const digest = createHash("sha256").update(bundled).digest("hex").slice(0, 24)
  const loader = readFileSync(new URL("./binLoader.cjs", import.meta.url), "utf8")
    .replace("__FEDKIT_BUNDLE_FILE__", basename(bundleFile))
    .replace("__FEDKIT_BUNDLE_DIGEST__", digest)
    .replace("__FEDKIT_BUNDLE_ENCODING__", encoding)
  const loaderFile = file.replace(/\.js$/, ".cjs")
  writeFileSync(loaderFile, hashbang + loader)
  chmodSync(loaderFile, 0o755)
  for (
    const compiledFile of [file, `${file}.map`, file.replace(/\.js$/, ".d.ts"), file.replace(/\.js$/, ".d.ts.map")]
  ) {
    rmSync(compiledFile, { force: true })
  }
}

for (const file of files) {
  await (mode === "--bin" ? bundleBin(file) : bundleVendor(file))
}
