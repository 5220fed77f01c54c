// How long writing, reading and checking a typical job takes (the FedAvg numpy job of the tests, 3 client sites).
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { bench, describe } from "vitest"
import { Job, JobCheck } from "../src/index.js"
import { buildJob } from "../test/support/fedavgJob.js"

const job = Effect.runSync(buildJob({ clients: 3, rounds: 5, scale: 1, layout: "named" }))
const legacy = Effect.runSync(buildJob({ clients: 3, rounds: 5, scale: 1, layout: "named", target: "2.8" }))
const files = Effect.runSync(Job.toFiles(job))

describe("FedAvg job, 3 sites", () => {
  bench("build with the builders", () => {
    Effect.runSync(buildJob({ clients: 3, rounds: 5, scale: 1, layout: "named" }))
  })
  bench("JobCheck.check", () => {
    JobCheck.check(job)
  })
  bench("Job.toFiles (2.9)", () => {
    Effect.runSync(Job.toFiles(job))
  })
  bench("Job.toFiles (2.8 rewrite)", () => {
    Effect.runSync(Job.toFiles(legacy))
  })
  bench("Job.fromFiles", () => {
    Either.getOrThrow(Job.fromFiles(files))
  })
})
