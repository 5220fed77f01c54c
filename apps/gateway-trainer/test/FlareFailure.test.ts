import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, layer } from "@effect/vitest"
import { FlareToolchain } from "@fedkit/flare-toolchain"
import { FlareInstallation, FlareRunner, Simulator } from "@fedkit/job-packager"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { createServer } from "node:net"
import { inject } from "vitest"
import type * as DalFixture from "../src/DalFixture.js"
import * as FlareJob from "../src/FlareJob.js"
import * as Dal from "./support/dal.js"

const customDir = inject("customDir")
const Live = Simulator.layer().pipe(
  Layer.provideMerge(FlareInstallation.layerVenv(FlareToolchain.defaultVenvDir())),
  Layer.provideMerge(NodeContext.layer)
)

const WRONG_TOKEN = `tok-wrong-${Dal.SECRET_MARK}`

/** A loopback port nothing listens on: a DAL that is down. */
const closedPort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    server.close(() => resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 9)))
  })
})

/** Every file below `dir`, as text (FLARE's logs, configs, workspace). */
const allText = (dir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const names = yield* fs.readDirectory(dir, { recursive: true })
    const texts = yield* Effect.forEach(names, (name) =>
      fs.stat(`${dir}/${name}`).pipe(
        Effect.flatMap((info) =>
          info.type === "File"
            ? Effect.map(fs.readFile(`${dir}/${name}`), (bytes) => Buffer.from(bytes).toString("latin1"))
            : Effect.succeed("")
        ),
        Effect.orElseSucceed(() => "")
      ))
    return { files: names.length, text: texts.join("\n") }
  })

/**
 * One 1-round job of 3 gateways where `spoil` breaks one of them: it must fail with that site and reason, stop
 * quickly, and no token may appear in the log lines or anywhere in FLARE's workspace.
 */
const failingRun = (options: {
  readonly allowed?: (gateway: DalFixture.Gateway) => boolean
  readonly spoil: (site: FlareJob.SimulatedGateway) => Effect.Effect<FlareJob.SimulatedGateway>
}) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const { gateways, server } = yield* Dal.start(options.allowed === undefined ? {} : { allowed: options.allowed })
    const rendered = yield* FlareJob.render(
      { optimizer_name: "adam", num_federation_rounds: 1 },
      Object.fromEntries(gateways.map((gateway) => [gateway.datasetId, gateway.gateway]))
    )
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "fedkit-bcw-fail-" })
    const lines: Array<string> = []
    const sites = yield* Effect.forEach(gateways, (gateway) => options.spoil({ gateway, token: Dal.token(gateway) }))
    const result = yield* FlareJob.simulate({
      job: yield* FlareJob.withTrainer(rendered, yield* FlareJob.readCustom(customDir)),
      dalUrl: server.url,
      gateways: sites,
      jobDir: `${dir}/job`,
      outputDir: `${dir}/flare`,
      timeout: "3 minutes",
      onLog: (line) => Effect.sync(() => lines.push(line.text))
    }).pipe(Effect.either)
    const workspace = yield* allText(dir)
    assert.isAbove(workspace.files, 10)
    for (const secret of [WRONG_TOKEN, ...gateways.map(Dal.tokenText)]) {
      assert.notInclude(workspace.text, secret)
      for (const line of lines) assert.notInclude(line, secret)
    }
    assert.notInclude(workspace.text, Dal.SECRET_MARK)
    assert.isTrue(Either.isLeft(result), "the job must fail")
    return Either.getLeft(result).pipe((error) => error._tag === "Some" ? error.value : assert.fail("no error"))
  })

const assertGatewayFailed = (error: unknown, site: string, reason: RegExp) => {
  assert.instanceOf(error, FlareRunner.SiteFailed)
  assert.strictEqual(error.site, site)
  assert.match(error.reason, reason)
  assert.include(error.message, `site ${site} failed: `)
}

layer(Live, { excludeTestServices: true })("failures through FLARE (simulator, 1 round)", (it) => {
  it.scoped(
    "a gateway whose DAL token is wrong fails the job, naming the site and the DAL's refusal",
    () =>
      Effect.gen(function*() {
        const error = yield* failingRun({
          spoil: (site) =>
            Effect.succeed(site.gateway.gateway === "gateway-1" ? { ...site, token: Redacted.make(WRONG_TOKEN) } : site)
        })
        assertGatewayFailed(error, "gateway-1", /^DalAuthError at preflight\/policy: .*HTTP 401.*APH_DAL_TOKEN/)
      }),
    { timeout: 240_000 }
  )

  it.scoped(
    "a gateway whose policy forbids the model fails the job, naming the site and the policy",
    () =>
      Effect.gen(function*() {
        const error = yield* failingRun({
          allowed: (gateway) => gateway.gateway !== "gateway-2",
          spoil: Effect.succeed
        })
        assertGatewayFailed(
          error,
          "gateway-2",
          /^PolicyRefused at preflight\/policy: the asset policy of "breast-cancer-wisconsin_gateway-2_org-2" .*"fedkit_logistic_regression"/
        )
      }),
    { timeout: 240_000 }
  )

  it.scoped(
    "a gateway whose DAL is down fails the job, naming the site and the unreachable DAL",
    () =>
      Effect.gen(function*() {
        const port = yield* closedPort
        const error = yield* failingRun({
          spoil: (site) =>
            Effect.succeed(
              site.gateway.gateway === "gateway-3"
                ? { ...site, dalUrl: `http://127.0.0.1:${port}`, env: { APH_RETRIES: "0" } }
                : site
            )
        })
        assertGatewayFailed(error, "gateway-3", /^DalTransportError at preflight\/policy: /)
      }),
    { timeout: 240_000 }
  )
})
