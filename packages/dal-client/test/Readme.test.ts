// The README's two examples, held to the README and run as a user runs them: compiled, in a fresh folder, with the
// APH_* variables pointing at a real local DAL, against this package's compiled sources (laid out as installed).
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"
import { cliDir } from "./support/globalSetup.js"
import { filesBelow, makeZip, startServer, tempDir, TOKEN } from "./support/index.js"

const packageDir = fileURLToPath(new URL("..", import.meta.url))
const fixture = (name: string) => NodePath.join(packageDir, "test", "fixtures", name)
const sourceImport = `from "../../src/index.js"`

const tsBlocks = (readme: string): ReadonlyArray<string> =>
  readme.split("```ts\n").slice(1).map((block) => block.slice(0, block.indexOf("```")))

/** Runs an example as a user would, in `cwd`, and answers its stdout. */
const run = (name: string, cwd: string, env: Record<string, string>) =>
  Effect.promise(async () => {
    const code = (await Fs.readFile(fixture(name), "utf8"))
      .replace(sourceImport, `from ${JSON.stringify(NodePath.join(cliDir, "index.js"))}`)
    const compiled = ts.transpileModule(code, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }
    })
    // beside the compiled package, so `effect` resolves as it does for an installed one
    const script = NodePath.join(cliDir, "..", `readme-${name}-${process.pid}.mjs`)
    await Fs.writeFile(script, compiled.outputText)
    try {
      return await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          [script],
          { cwd, env: { ...process.env, ...env }, timeout: 60_000 },
          (
            error,
            stdout,
            stderr
          ) => (error === null ? resolve(stdout) : reject(new Error(`${error.message}\n${stderr}`)))
        )
      )
    } finally {
      await Fs.rm(script, { force: true })
    }
  })

const dataset = {
  files: {
    "s3://bkt/ds004/Dataset004_Hippocampus_A.zip": makeZip([{ name: "imagesTr/a.nii.gz", data: Buffer.from("x") }]),
    "s3://bkt/ds004/dataset.json": "{}"
  },
  policies: { "s3://bkt/ds004/": { permissions: { restrict_functions: true, allowed_function_names: ["train"] } } }
}

/** Runs an example in a fresh folder with the APH_* variables of a local DAL serving the dataset. */
const runAgainstDal = (name: string) =>
  Effect.gen(function*() {
    const server = yield* startServer(dataset)
    const cwd = yield* tempDir
    const env = { APH_API_DAL_URL: server.url, APH_DAL_TOKEN: TOKEN, APH_DATA: "{\"hippocampus\":\"s3://bkt/ds004/\"}" }
    return { cwd, stdout: yield* run(name, cwd, env) }
  })

describe("README", () => {
  it.effect("opens with test/fixtures/readme.example.ts (at most 10 lines); its Library example is readme.library.ts", () =>
    Effect.promise(async () => {
      const blocks = tsBlocks(await Fs.readFile(NodePath.join(packageDir, "README.md"), "utf8"))
      const asPublished = async (name: string) =>
        (await Fs.readFile(fixture(name), "utf8")).replace(sourceImport, `from "@fedkit/dal-client"`)
      assert.strictEqual(blocks[0], await asPublished("readme.example.ts"))
      assert.isAtMost(blocks[0]!.trimEnd().split("\n").length, 10)
      assert.strictEqual(blocks[1], await asPublished("readme.library.ts"))
    }))

  it.scopedLive("the opening example downloads the dataset into ./data", () =>
    Effect.gen(function*() {
      const { cwd, stdout } = yield* runAgainstDal("readme.example.ts")
      assert.strictEqual(stdout, `2 files in ${NodePath.join(cwd, "data")}\n`)
      assert.deepStrictEqual(yield* filesBelow(NodePath.join(cwd, "data")), [
        "Dataset004_Hippocampus_A.zip",
        "dataset.json"
      ])
    }))

  it.scopedLive("the Library example checks the policy, downloads with progress and extracts", () =>
    Effect.gen(function*() {
      const { cwd, stdout } = yield* runAgainstDal("readme.library.ts")
      assert.match(stdout, /^2 files \(0 already complete\) in .*data$/m)
      assert.deepStrictEqual(yield* filesBelow(NodePath.join(cwd, "data")), [
        "Dataset004_Hippocampus_A.zip",
        NodePath.join("Dataset004_Hippocampus_A", "imagesTr", "a.nii.gz"),
        "dataset.json"
      ])
    }))
})
