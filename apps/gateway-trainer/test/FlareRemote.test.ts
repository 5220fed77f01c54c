/**
 * The reference job on a provisioned, production-like FLARE deployment (`@fedkit/job-packager`'s `Deployment`: a
 * server, three gateways each started from its own startup kit with its own `APH_*`, an admin), driven through the
 * `remote` target as a user would drive a real federation: one deployment, two jobs. The first runs on two healthy
 * gateways to the end; the second includes a gateway whose DAL token is wrong and must stop at once, naming that site
 * and the DAL's refusal, which reached the server through the site's log stream.
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, layer } from "@effect/vitest"
import { FlareToolchain } from "@fedkit/flare-toolchain"
import { Deployment, FlareInstallation, FlareRunner, Remote } from "@fedkit/job-packager"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { inject } from "vitest"
import type * as DalFixture from "../src/DalFixture.js"
import * as FlareJob from "../src/FlareJob.js"
import * as HeldOut from "../src/HeldOut.js"
import * as Dal from "./support/dal.js"

const customDir = inject("customDir")
const Platform = FlareInstallation.layerVenv(FlareToolchain.defaultVenvDir()).pipe(
  Layer.provideMerge(NodeContext.layer)
)
const WRONG_TOKEN = `tok-wrong-${Dal.SECRET_MARK}`

layer(Platform, { excludeTestServices: true })("the reference job on a provisioned deployment (remote)", (it) => {
  it.scoped(
    "runs to the end on two gateways; with a gateway whose token is wrong, stops at once naming it and the 401",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const { gateways, server } = yield* Dal.start()
        const root = yield* fs.makeTempDirectoryScoped({ prefix: "fedkit-bcw-remote-" })
        const lines: Array<string> = []
        const collect = (text: string) => Effect.sync(() => void lines.push(text))
        const deployment = yield* Deployment.start({
          sites: FlareJob.sitesOf(gateways.map((gateway) => ({
            gateway,
            token: gateway.gateway === "gateway-3" ? Redacted.make(WRONG_TOKEN) : Dal.token(gateway)
          }))),
          env: { APH_API_DAL_URL: server.url },
          directory: root,
          onLog: (_, text) => collect(text)
        })
        const remote = Remote.layer({ startupKit: deployment.adminKit, username: deployment.username })
        const runOn = (name: string, chosen: ReadonlyArray<DalFixture.Gateway>) =>
          Effect.gen(function*() {
            const rendered = yield* FlareJob.render(
              { optimizer_name: "adam", num_federation_rounds: 2 },
              Object.fromEntries(chosen.map((gateway) => [gateway.datasetId, gateway.gateway]))
            )
            const jobDir = path.join(root, name, "fedkit-logreg-bcw")
            yield* FlareJob.write(jobDir, yield* FlareJob.withTrainer(rendered, yield* FlareJob.readCustom(customDir)))
            return yield* FlareRunner.run({
              job: jobDir,
              sites: chosen.map((gateway) => ({ name: gateway.gateway })),
              outputDir: path.join(root, name, "result"),
              timeout: "4 minutes",
              onLog: (line) => collect(line.text)
            }).pipe(Effect.provide(remote))
          })

        const result = yield* runOn("healthy", gateways.slice(0, 2))
        assert.strictEqual(result.status, "FINISHED:COMPLETED")
        const rounds = FlareJob.siteRounds(result.metrics.rounds)
        assert.deepStrictEqual(
          rounds.map((round) => `${round.round}:${round.site}`).sort(),
          ["1:gateway-1", "1:gateway-2", "2:gateway-1", "2:gateway-2"]
        )
        assert.deepStrictEqual(Object.keys(result.logs.sites).sort(), ["gateway-1", "gateway-2"])
        const evaluated = yield* HeldOut.evaluate(Option.getOrThrow(result.globalModel))
        assert.isAtLeast(evaluated.accuracy, 0.9)

        const error = yield* runOn("failing", gateways).pipe(Effect.flip)
        assert.instanceOf(error, FlareRunner.SiteFailed)
        assert.strictEqual(error.site, "gateway-3")
        assert.match(error.reason, /^DalAuthError at preflight\/policy: .*HTTP 401.*APH_DAL_TOKEN/)
        // The reason is in the site's log as the server holds it, downloaded with what the aborted job left.
        const kept = yield* fs.readFileString(path.join(error.workspace, "sites", "gateway-3", "log.json"))
        assert.include(kept, "fedkit-site-failure: DalAuthError at preflight/policy")
        for (const secret of [WRONG_TOKEN, ...gateways.map(Dal.tokenText)]) {
          assert.notInclude(error.message, secret)
          assert.notInclude(kept, secret)
          for (const line of lines) assert.notInclude(line, secret)
        }
      }),
    { timeout: 420_000 }
  )
})
