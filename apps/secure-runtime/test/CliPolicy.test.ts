import { describe, it } from "@effect/vitest"
import { policyChecks } from "@fedkit/cli-policy/testing"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { DATASET2GW, fixture } from "./support/fixtures.js"

// The bin as installed: the launcher in bin/, running the built dist/bin.js.
const bin = fileURLToPath(new URL("../bin/secure-runtime.mjs", import.meta.url))

describe("secure-runtime follows fedkit's CLI policy", () => {
  const checks = policyChecks({
    name: "secure-runtime",
    bin,
    usageErrors: [
      { args: ["serve", "--bogus"], message: "unknown option --bogus" },
      { args: ["render"], message: "missing required options --payload, --dataset2gw, --out" },
      {
        args: ["render", "--payload", "-", "--dataset2gw", "{}", "--out", "out", "--port", "1"],
        message: "unknown option --port"
      },
      {
        args: ["serve", "--dataset2gw", "{}", "--jobs-dir", "jobs", "--submit", "flare"],
        message: "--submit: 'flare' is not one of none, simulator, poc"
      },
      {
        args: ["serve", "--dataset2gw", "{}", "--jobs-dir", "jobs", "--port", "70000"],
        message: "--port: 70000 is out of range"
      },
      { args: ["rendr"], message: "unknown command 'rendr'; use one of render, serve, export-python, call" }
    ],
    longRunning: {
      doing: "serving",
      start: async () => {
        const jobs = await fs.mkdtemp(path.join(os.tmpdir(), "secure-runtime-policy-"))
        return {
          args: [
            "serve",
            "--module",
            fixture("good"),
            "--dataset2gw",
            JSON.stringify(DATASET2GW),
            "--jobs-dir",
            jobs,
            "--port",
            "0"
          ],
          ready: (running) => running.waitFor(({ stdout }) => stdout.includes("\n"), "printing its URL"),
          close: () => fs.rm(jobs, { recursive: true, force: true })
        }
      }
    }
  })
  for (const check of checks) it.skipIf(check.skip)(check.name, check.run)
})
