// Check once, at the boundary: the packager trusts the files flare-config checked, and checks everything else.
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Job } from "@fedkit/flare-config"
import { JobPackage } from "@fedkit/job-packager"
import * as Effect from "effect/Effect"
import * as Inputs from "../src/Inputs.js"
import * as Render from "../src/Render.js"
import * as RuntimeModule from "../src/RuntimeModule.js"
import { DATASET2GW, fixture, VALID } from "./support/fixtures.js"

describe("render", () => {
  it.effect("packages flare-config's checked files as a full check of the same files would", () =>
    Effect.gen(function*() {
      const { runtime } = yield* RuntimeModule.load(fixture("good"))
      const dataset2gw = yield* Inputs.dataset2gw(JSON.stringify(DATASET2GW))
      const files = yield* runtime.renderEffect(JSON.stringify(VALID), dataset2gw)
      assert.strictEqual(Job.checkedTarget(files), "2.9")
      const trusted = yield* Render.render(runtime, JSON.stringify(VALID), dataset2gw, "job")
      const checked = yield* JobPackage.make("job", { ...files })
      assert.deepStrictEqual(trusted, checked)

      // The same files, no longer the checked ones: every check runs again and finds the broken reference.
      const server = JSON.parse(files["app/config/config_fed_server.json"]!)
      server.workflows[0].args.persistor_id = "nowhere"
      const forged = { ...files, "app/config/config_fed_server.json": JSON.stringify(server) }
      const refused = yield* Effect.flip(JobPackage.make("job", forged))
      assert.match(refused.message, /nowhere/)
      // Checked files with an unsafe job name, or for another release, are not trusted on that.
      assert.strictEqual((yield* Effect.flip(JobPackage.make("../job", files)))._tag, "InvalidJob")
      const for28 = yield* JobPackage.make("job", files, { target: "2.8" }).pipe(Effect.either)
      const for28Copy = yield* JobPackage.make("job", { ...files }, { target: "2.8" }).pipe(Effect.either)
      assert.strictEqual(for28._tag, for28Copy._tag)
    }).pipe(Effect.provide(NodeContext.layer)))
})
