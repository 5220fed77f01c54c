/**
 * The reference model's demo: three gateways with non-identical shards of the Breast Cancer Wisconsin data behind a
 * local DAL (one as a directory of CSV files, one as a zip, one as a directory), the job rendered by the Secure
 * Runtime from a payload (default `{"optimizer_name": "adam", "learning_rate": 0.01, "num_federation_rounds": 10}`,
 * or the JSON given as the first argument), run in `nvflare simulator`, and the global model FLARE saved checked on
 * the held-out test set against the central baseline (the same code on the union of the shards).
 * Progress on stderr, results on stdout; exits 1 when a target is missed.
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { DalServer } from "@fedkit/dal-server"
import { FlareToolchain } from "@fedkit/flare-toolchain"
import { FlareInstallation, Simulator } from "@fedkit/job-packager"
import { Cause, Console, Effect, Layer, Logger, LogLevel, Redacted, Schema } from "effect"
import { randomBytes } from "node:crypto"
import { fileURLToPath } from "node:url"
import * as BreastCancer from "./BreastCancer.js"
import * as DalFixture from "./DalFixture.js"
import * as Federation from "./Federation.js"
import * as FlareJob from "./FlareJob.js"
import * as NpyVector from "./NpyVector.js"
import { Payload, settingsOf } from "./secure_runtime/secure_runtime_service.js"
import * as Split from "./Split.js"

const WORKSPACE = fileURLToPath(new URL("../../../.fedkit/bcw-demo", import.meta.url))
const DEFAULT_PAYLOAD = { optimizer_name: "adam", learning_rate: 0.01, num_federation_rounds: 10 }
export const TARGET_ACCURACY = 0.93
export const MAX_GAP = 0.02

const pct = (x: number) => `${(100 * x).toFixed(2)} %`

const program = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const payload = yield* Schema.decodeUnknown(Schema.parseJson(Payload))(
    process.argv[2] ?? JSON.stringify(DEFAULT_PAYLOAD)
  )
  const split = yield* Split.split(yield* BreastCancer.load)
  yield* fs.remove(WORKSPACE, { recursive: true }).pipe(Effect.ignore)
  const dalRoot = path.join(WORKSPACE, "dal")
  yield* fs.makeDirectory(dalRoot, { recursive: true })
  const gateways = yield* DalFixture.write(dalRoot, split.shards)
  for (const g of gateways) {
    yield* Console.error(
      `${g.gateway}: ${g.samples} training rows as ${g.layout} dataset ${g.key} (${g.files} CSV files)`
    )
  }
  // Each gateway gets its own random token, valid for its own dataset only; it lives in that site's environment.
  const sites = gateways.map((gateway) => ({ gateway, token: Redacted.make(randomBytes(24).toString("base64url")) }))
  const dal = yield* DalServer.start({
    root: dalRoot,
    tokens: sites.map(({ gateway, token }) => ({
      name: gateway.gateway,
      token,
      prefixes: [DalFixture.prefix(gateway)]
    })),
    policies: DalFixture.policies(gateways)
  }).pipe(Logger.withMinimumLogLevel(LogLevel.Warning))
  yield* Console.error(`DAL on ${dal.url}; held-out test set: ${split.test.count} rows`)

  const rendered = yield* FlareJob.render(payload, Object.fromEntries(gateways.map((g) => [g.datasetId, g.gateway])))
  const jobDir = path.join(WORKSPACE, "job")
  yield* Console.error(`running ${jobDir} in nvflare simulator (${payload.num_federation_rounds} rounds + statistics)`)
  const result = yield* FlareJob.simulate({
    job: yield* FlareJob.withTrainer(rendered, yield* FlareJob.readCustom()),
    dalUrl: dal.url,
    gateways: sites,
    jobDir,
    outputDir: path.join(WORKSPACE, "flare"),
    onLog: (line) =>
      /fedkit-bridge: \[|ERROR|refused/.test(line.text) ? Console.error(`  flare | ${line.text.trim()}`) : Effect.void
  })

  const modelPath = yield* result.globalModel
  const federated = Federation.evaluate(yield* NpyVector.read(modelPath), split.test)
  const central = yield* Federation.central({
    train: split.train,
    trainingRounds: payload.num_federation_rounds,
    settings: settingsOf(payload),
    heldOut: split.test
  })
  const baseline = central.rounds.at(-1)!.heldOut!
  const gap = Math.abs(federated.accuracy - baseline.accuracy)
  yield* Console.log(`payload:          ${JSON.stringify(Schema.encodeSync(Payload)(payload))}`)
  yield* Console.log(`global model:     ${modelPath}`)
  yield* Console.log(`federated (FLARE) test accuracy ${pct(federated.accuracy)}, loss ${federated.loss.toFixed(4)}`)
  yield* Console.log(`central baseline  test accuracy ${pct(baseline.accuracy)}, loss ${baseline.loss.toFixed(4)}`)
  yield* Console.log(
    `gap ${(100 * gap).toFixed(2)} points (target ≤ ${100 * MAX_GAP}); target accuracy ≥ ${pct(TARGET_ACCURACY)}`
  )
  if (federated.accuracy < TARGET_ACCURACY || gap > MAX_GAP) {
    return yield* Effect.fail(new Error("the federated model missed its target"))
  }
  yield* Console.log("targets met")
}).pipe(Effect.scoped)

program.pipe(
  Effect.provide(
    Simulator.layer().pipe(
      Layer.provideMerge(FlareInstallation.layerVenv(FlareToolchain.defaultVenvDir())),
      Layer.provideMerge(NodeContext.layer)
    )
  ),
  Effect.tapErrorCause((cause) => Console.error(Cause.pretty(cause))),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
