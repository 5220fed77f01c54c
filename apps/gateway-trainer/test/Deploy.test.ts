/**
 * What the reference model image holds (see the Dockerfile), assembled outside the workspace: `pnpm deploy --prod` of
 * this app, the runtime folder copied to `usr/secure_runtime/src/secure_runtime/` with `usr/secure_runtime/node_modules`
 * pointing at the deployment's, then used from a folder outside the repository. Needs `pnpm build` first (the
 * deployment copies `dist/`).
 */
import { assert, describe, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const appDir = fileURLToPath(new URL("..", import.meta.url))
const repoRoot = join(appDir, "..", "..")
const builtModule = join(appDir, "dist", "secure_runtime", "secure_runtime_service.js")

// The pnpm running this test (`pnpm run test`), else the project's pinned one.
const pnpm = (args: ReadonlyArray<string>) =>
  process.env.npm_execpath?.includes("pnpm")
    ? execFileSync(process.execPath, [process.env.npm_execpath, ...args], { cwd: repoRoot, stdio: "pipe" })
    : execFileSync("npx", ["-y", "pnpm@10.34.8", ...args], { cwd: repoRoot, stdio: "pipe" })

const RENDER = `
const runtime = (await import(process.argv[2])).default
const payload = runtime.parse('{"optimizer_name": "adam", "learning_rate": 0.01, "num_federation_rounds": 10}')
runtime.validate(payload)
const files = runtime.template(payload, {
  "breast-cancer-wisconsin_gateway-1_org-1": "gateway-1",
  "breast-cancer-wisconsin_gateway-2_org-2": "gateway-2"
})
console.log(JSON.stringify(files))
`

describe("the image's contents, outside the workspace", () => {
  it(
    "pnpm deploy --prod, the runtime folder at /usr/secure_runtime/src/secure_runtime: renders the contract payload; the trainer runs",
    () => {
      assert.isTrue(existsSync(builtModule), `${builtModule} is missing: run pnpm build first`)
      const root = mkdtempSync(join(tmpdir(), "fedkit-image-"))
      try {
        const app = join(root, "opt", "gateway-trainer")
        pnpm(["--filter", "@fedkit/gateway-trainer", "--prod", "deploy", app])
        const runtimeDir = join(root, "usr", "secure_runtime", "src", "secure_runtime")
        mkdirSync(runtimeDir, { recursive: true })
        cpSync(join(app, "dist", "secure_runtime"), runtimeDir, { recursive: true })
        symlinkSync(join(app, "node_modules"), join(root, "usr", "secure_runtime", "node_modules"))
        const work = join(root, "workspace")
        mkdirSync(work)
        writeFileSync(join(work, "render.mjs"), RENDER)

        const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work }
        const rendered = spawnSync(
          process.execPath,
          ["render.mjs", new URL(`file://${join(runtimeDir, "secure_runtime_service.js")}`).href],
          { cwd: work, env, encoding: "utf8" }
        )
        assert.strictEqual(rendered.status, 0, rendered.stderr)
        const files = JSON.parse(rendered.stdout) as Record<string, string>
        assert.deepStrictEqual(Object.keys(files).sort(), [
          "app/config/config_fed_client.json",
          "app/config/config_fed_server.json",
          "meta.json"
        ])
        const server = JSON.parse(files["app/config/config_fed_server.json"]!)
        assert.strictEqual(server.workflows[0].args.num_rounds, 11)
        assert.deepStrictEqual(JSON.parse(files["meta.json"]!).deploy_map, {
          app: ["server", "gateway-1", "gateway-2"]
        })
        const client = JSON.parse(files["app/config/config_fed_client.json"]!)
        assert.include(JSON.stringify(client), "fedkit_bridge")
        assert.include(JSON.stringify(client), "adam")

        // The trainer bundle is self-contained: without APH_* it starts and refuses with the variables' names.
        const trainer = spawnSync(process.execPath, [join(app, "dist", "flare", "custom", "fedkit_trainer.mjs")], {
          cwd: work,
          env,
          input: "",
          encoding: "utf8"
        })
        assert.include(trainer.stderr, "fedkit-trainer ERROR: DalConfigError at preflight/settings")
        assert.include(trainer.stderr, "APH_API_DAL_URL")
        assert.isTrue(existsSync(join(app, "dist", "flare", "custom", "fedkit_bridge.py")))
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    },
    120_000
  )
})
