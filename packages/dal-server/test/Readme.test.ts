// The README's opening example, held to the README and run as a user runs it: compiled, in a folder with `./data`,
// against this package's compiled sources (the ones `support/buildCli.ts` laid out as installed).
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import ts from "typescript"
import { cliInstallDir, packageDir } from "./support/cli.js"

const fixture = path.join(packageDir, "test", "fixtures", "readme.example.ts")
const readExample = (importPath: string) =>
  fs.readFile(fixture, "utf8").then((code) => code.replace(`from "../../src/index.js"`, `from "${importPath}"`))

describe("README", () => {
  it.effect("opens with test/fixtures/readme.example.ts, at most 10 lines", () =>
    Effect.promise(async () => {
      const readme = await fs.readFile(path.join(packageDir, "README.md"), "utf8")
      const example = await readExample("@fedkit/dal-server")
      const [first] = readme.split("```ts\n").slice(1)
      assert.strictEqual(first?.slice(0, first.indexOf("```")), example)
      assert.isAtMost(example.trimEnd().split("\n").length, 10)
    }))

  it.live("the example serves ./data, prints its URL and stops", () =>
    Effect.acquireUseRelease(
      Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "fedkit-dal-readme-"))),
      (cwd) =>
        Effect.promise(async () => {
          await fs.mkdir(path.join(cwd, "data", "bucket"), { recursive: true })
          // Beside the compiled package, so `effect` resolves as it does for an installed one.
          const script = path.join(cliInstallDir, `readme-example-${process.pid}.mjs`)
          const code = await readExample(path.join(cliInstallDir, "dist", "index.js"))
          const compiled = ts.transpileModule(code, {
            compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }
          })
          await fs.writeFile(script, compiled.outputText)
          try {
            const stdout = await new Promise<string>((resolve, reject) =>
              execFile(
                process.execPath,
                [script],
                { cwd, timeout: 30_000 },
                (error, out) => error === null ? resolve(out) : reject(error)
              )
            )
            assert.match(stdout, /^http:\/\/127\.0\.0\.1:\d+\/$/m)
          } finally {
            await fs.rm(script, { force: true })
          }
        }),
      (cwd) => Effect.promise(() => fs.rm(cwd, { recursive: true, force: true }))
    ))
})
