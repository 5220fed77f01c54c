// The README's opening example, held to the README and run as a user runs it: compiled, then started as a process
// (`runMain` exits the process) against this package's built `dist`, which the test task is ordered after.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const packageDir = fileURLToPath(new URL("..", import.meta.url))
const fixture = path.join(packageDir, "test", "fixtures", "readme.example.ts")
const readExample = (importPath: string) =>
  fs.readFile(fixture, "utf8").then((code) => code.replace(`from "../../src/index.js"`, `from "${importPath}"`))

interface Finished {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const runNode = (script: string, args: ReadonlyArray<string>) =>
  new Promise<Finished>((resolve, reject) => {
    const child = execFile(process.execPath, [script, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== "number") reject(error)
      else resolve({ code: child.exitCode, stdout, stderr })
    })
  })

describe("README", () => {
  it.effect("opens with test/fixtures/readme.example.ts, at most 10 lines", () =>
    Effect.promise(async () => {
      const readme = await fs.readFile(path.join(packageDir, "README.md"), "utf8")
      const example = await readExample("@fedkit/cli-policy")
      const [first] = readme.split("```ts\n").slice(1)
      assert.strictEqual(first?.slice(0, first.indexOf("```")), example)
      assert.isAtMost(example.trimEnd().split("\n").length, 10)
    }))

  it.live("the example's CLI answers as its comments say", () =>
    Effect.acquireUseRelease(
      // Inside the package, so `@effect/cli` and `effect` resolve as they do for the package itself.
      Effect.promise(async () => {
        await fs.mkdir(path.join(packageDir, ".vitest"), { recursive: true })
        return fs.mkdtemp(path.join(packageDir, ".vitest", "readme-"))
      }),
      (dir) =>
        Effect.promise(async () => {
          const code = await readExample(path.join(packageDir, "dist", "index.js"))
          const compiled = ts.transpileModule(code, {
            compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }
          })
          const script = path.join(dir, "greet.mjs")
          await fs.writeFile(script, compiled.outputText)
          const comments = code.split("\n").filter((line) => line.startsWith("// node greet.js "))
          assert.lengthOf(comments, 2)

          const greeted = await runNode(script, ["ada"])
          assert.deepStrictEqual(greeted, { code: 0, stdout: "hello ada\n", stderr: "" })
          assert.include(comments[0], `"${greeted.stdout.trim()}" on stdout, exit code ${greeted.code}`)

          const refused = await runNode(script, ["--nme", "ada"])
          assert.deepStrictEqual(refused, {
            code: 2,
            stdout: "",
            stderr: "greet: unknown option --nme (see greet --help)\n"
          })
          assert.include(comments[1], `"${refused.stderr.trim()}" on stderr, exit code ${refused.code}`)
        }),
      (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
    ))
})
