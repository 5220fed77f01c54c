import { assert, describe, it } from "@effect/vitest"
import { FlareToolchain } from "@fedkit/flare-toolchain"
import { FlareInstallation, Simulator } from "@fedkit/job-packager"
import * as Effect from "effect/Effect"
import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
import type { JobView } from "../src/Jobs.js"
import { get, post, startServer } from "./support/server.js"

describe("serve --submit simulator", () => {
  it.scopedLive(
    "renders a job, runs it in nvflare simulator in the background and reports FLARE's result",
    () =>
      Effect.gen(function*() {
        const installation = yield* FlareInstallation.FlareInstallation
        const runner = yield* Simulator.make()
        const server = yield* startServer({ runner })
        const created = yield* post(
          server.url,
          JSON.stringify({ optimizer_name: "sgd", learning_rate: 0.5, num_federation_rounds: 1 })
        )
        assert.strictEqual(created.status, 201)
        const { jobId, status } = created.json as JobView
        assert.strictEqual(status, "queued")
        const done = yield* get(server.url, `/v1/jobs/${jobId}`).pipe(
          Effect.map((answer) => answer.json as JobView),
          Effect.delay("500 millis"),
          Effect.repeat({ until: (view) => view.status !== "queued" && view.status !== "running" }),
          Effect.timeout("3 minutes")
        )
        assert.strictEqual(done.status, "completed", JSON.stringify(done.submission))
        assert.strictEqual(done.submission?.target, "simulator")
        assert.strictEqual(done.submission?.result?.status, "FINISHED:COMPLETED")
        const model = done.submission?.result?.globalModel
        assert.isString(model)
        assert.isTrue(existsSync(model!))
        // One round of the fixture's trainer adds the payload's learning rate to every weight, at both sites.
        const weights = execFileSync(installation.python, [
          "-c",
          "import json, sys, numpy; print(json.dumps(numpy.load(sys.argv[1]).tolist()))",
          model!
        ]).toString()
        assert.deepStrictEqual(JSON.parse(weights), [[1.5, 2.5, 3.5], [4.5, 5.5, 6.5]])
      }).pipe(Effect.provide(FlareToolchain.layer)),
    { timeout: 240_000 }
  )
})
