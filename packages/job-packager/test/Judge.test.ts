import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as run from "../src/internal/run.js"

const record = (level: string, message: string) => ({ level, logger: "test", message })
const request = {
  job: "fedkit-np",
  sites: [{ name: "gw-1" }, { name: "gw-2", secrets: { APH_DAL_TOKEN: Redacted.make("secret-token-2") } }]
}
const where = { target: "remote" as const, job: "fedkit-np", jobId: "j-1", workspace: "/results/j-1" }
const deadReport = record("WARNING", "[identity=srv, run=j-1] - received dead job report for client gw-2")
const policyAbort = record(
  "ERROR",
  "Aborting current RUN due to FATAL_SYSTEM_ERROR received: Aborting job due to deployment policy violation"
)

describe("judging a finished run", () => {
  it.effect("a site's own report names it, its secrets redacted, whatever the server did next", () =>
    Effect.gen(function*() {
      const error = yield* run.judge(request, where, "FINISHED:ABORTED", [
        ["server", [deadReport, policyAbort]],
        ["gw-2", [record("INFO", "fedkit-site-failure: DalAuthError (HTTP 401) for secret-token-2")]]
      ]).pipe(Effect.flip)
      assert.strictEqual(error._tag, "SiteFailed")
      assert.include(error.message, "site gw-2 failed: DalAuthError (HTTP 401) for <redacted>")
    }))

  it.effect("a site the server found stopped is named when its log never reached the server", () =>
    Effect.gen(function*() {
      const error = yield* run.judge(request, where, "FINISHED:ABORTED", [
        ["server", [deadReport, policyAbort]],
        ["gw-1", [record("INFO", "round 1 done")]]
      ]).pipe(Effect.flip)
      assert.strictEqual(error._tag, "SiteFailed")
      assert.match(error.message, /^site gw-2 failed: its job process stopped and no reason reached the server/)
    }))

  it.effect("sites that stopped after the server's own fatal error are not blamed for it", () =>
    Effect.gen(function*() {
      const error = yield* run.judge(request, where, "FINISHED:EXECUTION_EXCEPTION", [
        ["server", [record("ERROR", "FATAL_SYSTEM_ERROR: the controller crashed"), deadReport]]
      ]).pipe(Effect.flip)
      assert.strictEqual(error._tag, "JobFailed")
      assert.include(error.message, "server: FATAL_SYSTEM_ERROR: the controller crashed")
    }))

  it.effect("a completed run with a dead job report in its server log is still a success", () =>
    run.judge(request, where, undefined, [["server", [deadReport]]]))
})
