import { describe, it } from "@effect/vitest"
import { policyChecks } from "@fedkit/cli-policy/testing"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

// The bin as installed: the launcher in bin/, running the bundled dist/bin.cjs.
const bin = fileURLToPath(new URL("../bin/fedkit-dal-server.cjs", import.meta.url))

describe("fedkit-dal-server follows fedkit's CLI policy", () => {
  const checks = policyChecks({
    name: "fedkit-dal-server",
    bin,
    usageErrors: [
      { args: ["--bogus"], message: "unknown option --bogus" },
      { args: ["--bogus", "--root", "."], message: "unknown option --bogus" },
      { args: ["--rot", "."], message: "unknown option --rot (did you mean --root?)" },
      { args: [], message: "missing required option --root" },
      { args: ["--root", ".", "--port", "x"], message: "--port: 'x' is not an integer" },
      { args: ["--root", ".", "--page-links", "x"], message: "--page-links: 'x' is not one of suffix, rfc8288" },
      { args: ["--root", ".", "extra"], message: "unexpected argument 'extra'" }
    ],
    longRunning: {
      doing: "serving",
      start: async () => {
        const root = await fs.mkdtemp(path.join(os.tmpdir(), "fedkit-dal-server-policy-"))
        return {
          args: ["--root", root, "--port", "0"],
          ready: (running) => running.waitFor(({ stdout }) => stdout.includes("\n"), "printing its URL"),
          close: () => fs.rm(root, { recursive: true, force: true })
        }
      }
    }
  })
  for (const check of checks) it.skipIf(check.skip)(check.name, check.run)
})
