// The README's opening example, held to the README and run as a user runs it: compiled with the helloJob.ts it
// imports, then started as a process (NodePlatform.runMain exits it) against this package's built `dist`, which the
// test task is ordered after. Run in two folders, it must write the same ZIP bytes.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const packageDir = fileURLToPath(new URL("..", import.meta.url))
const fixture = (file: string) => fs.readFile(path.join(packageDir, "test", "fixtures", file), "utf8")
const asShown = (code: string) => code.replace(`from "../../src/index.js"`, `from "@fedkit/job-packager"`)
const tsBlocks = (readme: string) =>
  readme.split("```ts\n").slice(1).map((block) => block.slice(0, block.indexOf("```")))

const compile = (code: string) =>
  ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } })
    .outputText

/** Writes the example into `dir` and runs it there; answers what it printed. */
const runExample = async (dir: string) => {
  const example = (await fixture("readme.example.ts"))
    .replace(`from "../../src/index.js"`, `from ${JSON.stringify(path.join(packageDir, "dist", "index.js"))}`)
  await fs.writeFile(path.join(dir, "example.mjs"), compile(example))
  await fs.writeFile(path.join(dir, "helloJob.js"), compile(await fixture("helloJob.ts")))
  return new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      ["example.mjs"],
      { cwd: dir, timeout: 30_000 },
      (error, stdout, stderr) => error === null ? resolve(stdout) : reject(new Error(`${error.message}\n${stderr}`))
    )
  )
}

describe("README", () => {
  it.effect("opens with test/fixtures/readme.example.ts (at most 10 lines), and shows the helloJob.ts it imports", () =>
    Effect.promise(async () => {
      const blocks = tsBlocks(await fs.readFile(path.join(packageDir, "README.md"), "utf8"))
      const example = asShown(await fixture("readme.example.ts"))
      assert.strictEqual(blocks[0], example)
      assert.isAtMost(example.trimEnd().split("\n").length, 10)
      assert.include(blocks, await fixture("helloJob.ts"))
    }))

  it.live("the example packs and writes the job, and its ZIP is the same bytes in another folder", () =>
    Effect.acquireUseRelease(
      // Inside the package, so `effect` resolves as it does for the package itself.
      Effect.promise(async () => {
        await fs.mkdir(path.join(packageDir, ".vitest"), { recursive: true })
        return Promise.all([1, 2].map(() => fs.mkdtemp(path.join(packageDir, ".vitest", "readme-"))))
      }),
      (dirs) =>
        Effect.promise(async () => {
          // One after the other: a failed run must not leave the other writing into a folder being removed.
          const runs = []
          for (const dir of dirs) {
            const [zip, digest] = (await runExample(dir)).trim().split(" ")
            assert.strictEqual(path.resolve(dir, zip!), path.join(dir, "out", "hello.zip"))
            assert.match(digest!, /^sha256:[0-9a-f]{64}$/)
            const bytes = await fs.readFile(path.resolve(dir, zip!))
            runs.push({ digest, zipHash: createHash("sha256").update(bytes).digest("hex") })
          }
          assert.deepStrictEqual(runs[0], runs[1])
        }),
      (dirs) => Effect.promise(() => Promise.all(dirs.map((dir) => fs.rm(dir, { recursive: true, force: true }))))
    ))
})
