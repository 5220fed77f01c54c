import { NodeContext } from "@effect/platform-node"
import { describe, it } from "@effect/vitest"
import { policyChecks } from "@fedkit/cli-policy/testing"
import * as Effect from "effect/Effect"
import * as assert from "node:assert/strict"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { JobPackage, JobStore } from "../src/index.js"
import * as fixtures from "./fixtures/numpyJob.js"
import { processesUsing } from "./support/processes.js"

// The bin as installed: the launcher in bin/, running the bundled dist/bin.cjs.
const bin = fileURLToPath(new URL("../bin/fedkit-job.cjs", import.meta.url))

const writeJob = (folder: string) =>
  Effect.runPromise(
    JobPackage.make("fedkit-np", fixtures.files).pipe(
      Effect.flatMap((pkg) => JobStore.writeFolder(pkg, folder)),
      Effect.provide(NodeContext.layer)
    )
  )

describe("fedkit-job follows fedkit's CLI policy", () => {
  const checks = policyChecks({
    name: "fedkit-job",
    bin,
    usageErrors: [
      { args: ["run", ".", "--targt", "poc"], message: "unknown option --targt (did you mean --target?)" },
      { args: ["run", "."], message: "missing required option --target" },
      { args: ["run", ".", "--target", "cloud"], message: "--target: 'cloud' is not one of simulator, poc, remote" },
      { args: ["pack", ".", "--out"], message: "option --out needs a value" },
      { args: ["deploy", "--site", "a", "--threads", "2"], message: "unknown option --threads" }
    ],
    longRunning: {
      doing: "running a job in the FLARE simulator",
      start: async () => {
        const dir = await fs.mkdtemp(path.join(os.tmpdir(), "fedkit-job-policy-"))
        const job = path.join(dir, "fedkit-np")
        await writeJob(job)
        return {
          args: [
            "run",
            job,
            "--target",
            "simulator",
            "--site",
            "gw-a",
            "--site",
            "gw-b",
            "--out",
            path.join(dir, "run")
          ],
          // FLARE's first log line: the simulator is up and the job under way.
          ready: (running) => running.waitFor(({ stderr }) => /^\[/m.test(stderr), "FLARE logged"),
          close: async () => {
            // Interrupted, fedkit-job stops FLARE's processes before it exits.
            const left = processesUsing(dir)
            for (const found of left) process.kill(found.pid, "SIGKILL")
            await fs.rm(dir, { recursive: true, force: true })
            assert.deepEqual(left, [], "processes left running")
          }
        }
      }
    }
  })
  for (const check of checks) it.skipIf(check.skip)(check.name, check.run, 120_000)
})
