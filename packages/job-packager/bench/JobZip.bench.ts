/**
 * Packaging throughput: checking a job with a sizeable custom/ folder, writing its ZIP and reading it back.
 * Run with `pnpm bench`; figures are operations per second for a 2,000-file, ~16 MiB job.
 */
import * as Effect from "effect/Effect"
import { bench, describe } from "vitest"
import { JobPackage, JobZip } from "../src/index.js"
import * as fixtures from "../test/fixtures/numpyJob.js"

const files: Record<string, JobPackage.FileContent> = { ...fixtures.files }
for (let i = 0; i < 2000; i++) {
  files[`app/custom/data/shard-${String(i).padStart(4, "0")}.bin`] = new Uint8Array(8 * 1024).fill(i % 251)
}
const pkg = Effect.runSync(JobPackage.make("fedkit-bench", files))
const archive = JobZip.encode(pkg)

describe("a 2,000-file job", () => {
  bench("JobPackage.make (paths, JSON, flare-config checks, SHA-256)", () => {
    Effect.runSync(JobPackage.make("fedkit-bench", files))
  })
  bench("JobZip.encode", () => {
    JobZip.encode(pkg)
  })
  bench("JobZip.decode (with every check)", () => {
    Effect.runSync(JobZip.decode(archive))
  })
})
