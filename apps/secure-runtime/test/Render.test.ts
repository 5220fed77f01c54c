// Check once, at the boundary: the packager trusts the files flare-config checked, and checks everything else.
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Job } from "@fedkit/flare-config"
import { JobPackage } from "@fedkit/job-packager"
import { type Dataset2Gw, defineRuntime, type Runtime, type TemplateFolder } from "@fedkit/runtime-core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Inputs from "../src/Inputs.js"
import * as Render from "../src/Render.js"
import * as RuntimeModule from "../src/RuntimeModule.js"
import { DATASET2GW, fixture, GOOD_MODULE, VALID } from "./support/fixtures.js"

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

  it.effect("renders a function* template at once, with the answers the same body gives through Effect.gen", () =>
    Effect.gen(function*() {
      const { runtime } = yield* RuntimeModule.load(fixture("good"))
      const module = yield* Effect.promise(() => import(GOOD_MODULE))
      const definition = module.definition as Runtime.Definition<unknown, unknown, TemplateFolder.Declarations>
      const viaEffectGen = defineRuntime({
        ...definition,
        template: (payload, context) => Effect.gen(() => definition.template(payload, context) as Generator<never>)
      }).withTemplateFolder(runtime.templateFolder!)
      const dataset2gw = yield* Inputs.dataset2gw(JSON.stringify(DATASET2GW))
      const bodies = [
        VALID,
        { ...VALID, run_name: "a run" },
        { ...VALID, learning_rate: 2 },
        { ...VALID, run_name: "{SITE_NAME}" },
        "{\"optimizer_name\": ",
        []
      ].map((body) => typeof body === "string" ? body : JSON.stringify(body))
      for (const body of bodies) {
        const fast = Render.render(runtime, body, dataset2gw, Render.nameFromMeta)
        const general = Render.render(viaEffectGen, body, dataset2gw, Render.nameFromMeta)
        assert.deepStrictEqual(yield* Effect.either(fast), yield* Effect.either(general))
      }
      // Once the template folder is read (the first render reads it), nothing in a render needs a fiber.
      assert.isTrue(Either.isEither(Render.render(runtime, bodies[0]!, dataset2gw, "job")))
      assert.isFalse(Either.isEither(Render.render(viaEffectGen, bodies[0]!, dataset2gw, "job")))
      // A map that is not one (a caller that skipped Inputs.dataset2gw): the same refusal either way.
      const forged = { "ds-1": "server" } as unknown as Dataset2Gw.Dataset2Gw
      const payload = Either.getOrThrow(Render.check(runtime, JSON.stringify(VALID)))
      assert.deepStrictEqual(
        yield* Effect.either(Render.build(runtime, payload, forged, "job")),
        yield* Effect.either(Render.build(viaEffectGen, payload, forged, "job"))
      )
    }).pipe(Effect.provide(NodeContext.layer)))
})
