import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { FlareRunner } from "../src/index.js"

const result: FlareRunner.RunResult = {
  target: "simulator",
  job: "fedkit-np",
  jobId: "simulate_job",
  status: "FINISHED:COMPLETED",
  exitCode: Option.some(0),
  workspace: "/tmp/ws",
  runDir: "/tmp/ws/server/simulate_job",
  globalModel: Option.some("/tmp/ws/server/simulate_job/models/server.npy"),
  metrics: { summary: Option.none(), rounds: [], crossSiteValidation: Option.none() },
  logs: { server: Option.none(), sites: {} }
}

describe("FlareRunner.layerTest", () => {
  it.effect("answers a run with the given implementation, without FLARE", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const answer = yield* FlareRunner.run({ job: "./my-job", sites: [{ name: "gw-1" }] }).pipe(
        Effect.provide(FlareRunner.layerTest({
          target: "simulator",
          run: (request) => Effect.sync(() => seen.push(String(request.job))).pipe(Effect.as(result))
        }))
      )
      assert.deepStrictEqual(seen, ["./my-job"])
      assert.strictEqual(answer.status, "FINISHED:COMPLETED")
    }))

  it.effect("dies with an UnimplementedError when the test leaves `run` out", () =>
    Effect.gen(function*() {
      const exit = yield* FlareRunner.run({ job: "./my-job", sites: [{ name: "gw-1" }] }).pipe(
        Effect.provide(FlareRunner.layerTest({ target: "poc" })),
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause), String(exit))
      assert.include(Cause.pretty(Exit.isFailure(exit) ? exit.cause : Cause.empty), "UnimplementedError")
    }))
})
