// What `tsc` does not build (run by `pnpm build` after it):
// - dist/flare/custom/: what a gateway runs, the trainer as ONE self-contained ESM file (gateways have no
//   node_modules) and the Python bridge beside it; the tests bundle the current sources the same way (bundle());
// - dist/secure_runtime/: the Secure Runtime module as ONE file that imports packages only (effect,
//   @fedkit/runtime-core, @fedkit/flare-config: the Secure Runtime resolves them, one copy each) and none of this
//   package's other modules, so the folder can be copied on its own (the image's /usr/secure_runtime/src/secure_runtime/),
//   with its FLARE config templates beside it.
import { build } from "esbuild"
import { copyFile, cp, mkdir, readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

// A module that loads dependencies through `const require = createRequire(import.meta.url)` (as @fedkit/dal-client
// does for undici) hides them from the bundler, and the gateway has no node_modules to find them at run time. Dropping
// that local binding makes its `require("…")` calls plain ones, which esbuild bundles.
const LOCAL_REQUIRE = /^\s*const require = createRequire\(import\.meta\.url\);?\s*$/m
const bundleLocalRequires = {
  name: "bundle-local-requires",
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8")
      return LOCAL_REQUIRE.test(source) ? { contents: source.replace(LOCAL_REQUIRE, ""), loader: "js" } : undefined
    })
  }
}

export const bundle = async (outDir) => {
  await mkdir(outDir, { recursive: true })
  await build({
    entryPoints: [`${root}src/trainerMain.ts`],
    outfile: `${outDir}/fedkit_trainer.mjs`,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // Bundled CommonJS dependencies (yauzl) call require() for Node built-ins, which ESM lacks.
    banner: {
      js: "import { createRequire as __fedkitCreateRequire } from \"node:module\"; " +
        "const require = __fedkitCreateRequire(import.meta.url);"
    },
    plugins: [bundleLocalRequires],
    legalComments: "linked",
    logLevel: "warning"
  })
  await copyFile(`${root}flare/fedkit_bridge.py`, `${outDir}/fedkit_bridge.py`)
  return outDir
}

export const bundleRuntime = async (outDir) => {
  await build({
    entryPoints: [`${root}src/secure_runtime/secure_runtime_service.ts`],
    outfile: `${outDir}/secure_runtime_service.js`,
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: true,
    logLevel: "warning",
    allowOverwrite: true
  })
  await cp(`${root}src/secure_runtime/templates`, `${outDir}/templates`, { recursive: true })
  return outDir
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await bundle(`${root}dist/flare/custom`)
  await bundleRuntime(`${root}dist/secure_runtime`)
}
