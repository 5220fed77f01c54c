import { describe, it } from "@effect/vitest"
import { policyChecks, startBin } from "@fedkit/cli-policy/testing"
import * as fs from "node:fs/promises"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

// The bin as installed: the launcher in bin/, running the bundled dist/bin.cjs.
const bin = fileURLToPath(new URL("../bin/fedkit-dal.cjs", import.meta.url))
const dalServerBin = path.join(
  path.dirname(createRequire(import.meta.url).resolve("@fedkit/dal-server/package.json")),
  "bin",
  "fedkit-dal-server.cjs"
)

describe("fedkit-dal follows fedkit's CLI policy", () => {
  const checks = policyChecks({
    name: "fedkit-dal",
    bin,
    usageErrors: [
      { args: ["download", "--jsn", "ds", "/dest"], message: "unknown option --jsn (did you mean --json?)" },
      { args: ["ls", "ds", "--bogus"], message: "unknown option --bogus" },
      { args: ["download", "ds"], message: "missing argument <dest>" },
      { args: ["ls", "--timeout", "soon", "ds"], message: "--timeout: 'soon' is not a float" },
      { args: ["ls", "ds", "extra"], message: "unexpected argument 'extra'" },
      { args: ["lst", "ds"], message: "unknown command 'lst'; use one of ls, download, policy, put" }
    ],
    longRunning: {
      doing: "downloading",
      start: async () => {
        // A DAL whose file downloads never answer: once it has answered the listing, the download is under way.
        const dir = await fs.mkdtemp(path.join(os.tmpdir(), "fedkit-dal-policy-"))
        await fs.mkdir(path.join(dir, "root", "bkt", "ds"), { recursive: true })
        await fs.writeFile(path.join(dir, "root", "bkt", "ds", "a.bin"), "a")
        await fs.writeFile(
          path.join(dir, "faults.json"),
          JSON.stringify({
            faults: [{ key: { regex: "\\.bin$" }, times: "always", fault: { _tag: "StallHeaders", millis: 600_000 } }]
          })
        )
        const server = startBin(dalServerBin, [
          "--root",
          path.join(dir, "root"),
          "--port",
          "0",
          "--faults",
          path.join(dir, "faults.json")
        ])
        await server.waitFor(({ stdout }) => stdout.includes("\n"), "printing its URL")
        return {
          args: ["download", "ds", path.join(dir, "dest")],
          env: {
            APH_API_DAL_URL: server.output().stdout.split("\n")[0]!,
            APH_DAL_TOKEN: "unused",
            APH_DATA: JSON.stringify({ ds: "s3://bkt/ds/" })
          },
          ready: () =>
            server.waitFor(({ stderr }) => stderr.includes("\"message\":\"request\""), "answering the listing"),
          close: async () => {
            server.child.kill("SIGKILL")
            await server.exited
            await fs.rm(dir, { recursive: true, force: true })
          }
        }
      }
    }
  })
  for (const check of checks) it.skipIf(check.skip)(check.name, check.run)
})
