/**
 * The reference model's demo: three gateways with non-identical shards of the Breast Cancer Wisconsin data behind a
 * local DAL (one as a directory of CSV files, one as a zip, one as a directory), the job rendered by the Secure
 * Runtime entrypoint (`secure-runtime render`, loading this model's runtime module) from a payload (default
 * `{"optimizer_name": "adam", "learning_rate": 0.01, "num_federation_rounds": 10}`, or the JSON given as an
 * argument), run on FLARE (`--target simulator`, the default, or `--target poc`), and the global model FLARE saved
 * checked on the held-out test set against the central baseline (the same code on the union of the shards).
 *
 * Progress on stderr, results on stdout; the last line of stdout is `federated test accuracy 0.XXX, central
 * baseline 0.YYY`. Exits 1 when a target is missed or the run fails, under fedkit's CLI policy (`@fedkit/cli-policy`:
 * a usage error is one line and exit 2, an interrupt exit 130).
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { CliMain } from "@fedkit/cli-policy"
import { DalServer } from "@fedkit/dal-server"
import { FlareToolchain } from "@fedkit/flare-toolchain"
import { FlareInstallation, type FlareRunner, Poc, Simulator } from "@fedkit/job-packager"
import * as Arr from "effect/Array"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Match from "effect/Match"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { randomBytes } from "node:crypto"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import * as BreastCancer from "./BreastCancer.js"
import * as DalFixture from "./DalFixture.js"
import * as Federation from "./Federation.js"
import * as FlareJob from "./FlareJob.js"
import type * as LogisticRegression from "./LogisticRegression.js"
import * as NpyVector from "./NpyVector.js"
import * as RuntimeRender from "./RuntimeRender.js"
import runtime, { Payload, settingsOf } from "./secure_runtime/secure_runtime_service.js"
import * as Split from "./Split.js"

const WORKSPACE = fileURLToPath(new URL("../../../.fedkit/bcw-demo", import.meta.url))
// The version users see in --version is the package's.
const packageVersion = (createRequire(import.meta.url)("../package.json") as { readonly version: string }).version
const DEFAULT_PAYLOAD = "{\"optimizer_name\": \"adam\", \"learning_rate\": 0.01, \"num_federation_rounds\": 10}"
/**
 * @since 0.1.0
 */
export const TARGET_ACCURACY = 0.93
/**
 * @since 0.1.0
 */
export const MAX_GAP = 0.02

type Target = "simulator" | "poc"

class TargetMissed extends Schema.TaggedError<TargetMissed>()("TargetMissed", { reason: Schema.String }) {
  override get message(): string {
    return `the federated model missed its target: ${this.reason}`
  }
}

const pct = (x: number) => `${(100 * x).toFixed(2)} %`

/** Row-weighted means of the sites' metrics per round (what FedAvg averages, as FLARE recorded it). */
const perRound = (rounds: ReadonlyArray<FlareJob.SiteRound>) => Arr.groupBy(rounds, (r) => String(r.round))

const weighted = (rounds: ReadonlyArray<FlareJob.SiteRound>, key: string) => {
  const total = rounds.reduce((sum, r) => sum + r.samples, 0)
  return rounds.reduce((sum, r) => sum + r.samples * (r.metrics[key] ?? Number.NaN), 0) / total
}

/** The job as the platform renders it (`secure-runtime render`), or in process when that bin is not built. */
const renderJob = (payload: Payload, text: string, dataset2gw: Record<string, string>) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const bin = yield* RuntimeRender.cliBin
    return yield* Option.match(bin, {
      onNone: () =>
        Effect.zipRight(
          Console.error("secure-runtime's bin is not built: rendering in process with the same runtime module"),
          Effect.map(FlareJob.render(Schema.encodeSync(Payload)(payload), dataset2gw), (job) => ({
            job,
            how: "in process (runtime module)"
          }))
        ),
      onSome: (bin) =>
        Effect.map(
          RuntimeRender.render({ bin, payload: text, dataset2gw, outDir: path.join(WORKSPACE, "rendered") }),
          (r) => ({ job: r.job, how: `secure-runtime render → ${r.folder} (${r.digest})` })
        )
    })
  })

const program = (args: { payload: string; target: Target }) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    // Checked here too (the runtime checks it again) for the baseline's settings.
    const payload = yield* runtime.parseEffect(args.payload)
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

    const dataset2gw = Object.fromEntries(gateways.map((g) => [g.datasetId, g.gateway]))
    const rendered = yield* renderJob(payload, args.payload, dataset2gw)
    yield* Console.error(`rendered ${rendered.how}`)

    const jobDir = path.join(WORKSPACE, "job")
    const outputDir = path.join(WORKSPACE, "flare")
    yield* Console.error(
      `running ${jobDir} on FLARE ${args.target} (${payload.num_federation_rounds} rounds + statistics)`
    )
    const started = Date.now()
    const result = yield* FlareJob.simulate({
      job: yield* FlareJob.withTrainer(rendered.job, yield* FlareJob.readCustom()),
      dalUrl: dal.url,
      gateways: sites,
      jobDir,
      outputDir,
      onLog: (line) =>
        /ERROR|fedkit-site-failure:|fedkit-bridge: /.test(line.text)
          ? Console.error(`  flare | ${line.source}: ${line.text.replace(/^.*(fedkit-bridge: )/, "").trim()}`)
          : Effect.void
    })
    const rounds = FlareJob.siteRounds(result.metrics.rounds)
    const seconds = (Date.now() - started) / 1000

    const modelPath = yield* Option.match(result.globalModel, {
      onNone: () => Effect.fail(new TargetMissed({ reason: `FLARE saved no global model under ${result.workspace}` })),
      onSome: Effect.succeed
    })
    const federated = Federation.evaluate(yield* NpyVector.read(modelPath), split.test)
    const central = yield* Federation.central({
      train: split.train,
      trainingRounds: payload.num_federation_rounds,
      settings: settingsOf(payload),
      heldOut: split.test
    })
    return yield* report({
      payload,
      how: rendered.how,
      target: args.target,
      result,
      seconds,
      sites: sites.length,
      jobDir,
      modelPath,
      rounds,
      federated,
      central,
      heldOutRows: split.test.count
    })
  }).pipe(Effect.scoped)

/** What the demo prints on stdout, ending with the result line; fails when the federated model missed its target. */
const report = (run: {
  readonly payload: Payload
  readonly how: string
  readonly target: Target
  readonly result: FlareRunner.RunResult
  readonly seconds: number
  readonly sites: number
  readonly jobDir: string
  readonly modelPath: string
  readonly rounds: ReadonlyArray<FlareJob.SiteRound>
  readonly federated: LogisticRegression.Evaluation
  readonly central: Federation.Result
  readonly heldOutRows: number
}) =>
  Effect.gen(function*() {
    const { central, federated, result, rounds } = run
    const baseline = central.rounds.at(-1)!.heldOut!
    const gap = Math.abs(federated.accuracy - baseline.accuracy)

    yield* Console.log(`payload:   ${JSON.stringify(Schema.encodeSync(Payload)(run.payload))}`)
    yield* Console.log(`rendered:  ${run.how}`)
    yield* Console.log(`FLARE:     ${run.target}, ${result.status}, ${run.seconds.toFixed(1)} s, ${run.sites} sites`)
    yield* Console.log(`job:       ${run.jobDir}`)
    yield* Console.log(`workspace: ${result.workspace}`)
    yield* Console.log(`logs:      ${Option.getOrElse(result.logs.server, () => result.workspace)}`)
    for (const [site, log] of Object.entries(result.logs.sites)) yield* Console.log(`           ${site}: ${log}`)
    yield* Console.log(`model:     ${run.modelPath}`)
    yield* Console.log("")
    const byRound = perRound(rounds)
    if (Object.keys(byRound).length === 0) {
      yield* Console.log("per-round metrics: FLARE recorded none for this run")
    } else {
      yield* Console.log(
        "round | received global model on the sites' rows: loss  accuracy | after local training: loss  accuracy" +
          " | central baseline after the round, held-out accuracy"
      )
      for (const [round, entries] of Object.entries(byRound).sort(([a], [b]) => Number(a) - Number(b))) {
        const centralRound = central.rounds[Number(round)]?.heldOut
        yield* Console.log(
          `${round.padStart(5)} | ${weighted(entries, "global_loss").toFixed(4).padStart(47)}  ${
            pct(weighted(entries, "global_accuracy")).padStart(8)
          } | ${weighted(entries, "local_loss").toFixed(4).padStart(26)}  ${
            pct(weighted(entries, "local_accuracy")).padStart(8)
          } | ${centralRound === undefined ? "" : pct(centralRound.accuracy).padStart(8)}` +
            `   (${entries.map((e) => e.site).sort().join(", ")})`
        )
      }
    }
    yield* Console.log("")
    yield* Console.log(`held-out test set (${run.heldOutRows} rows, never seen in training):`)
    yield* Console.log(`  federated (FLARE) accuracy ${pct(federated.accuracy)}, loss ${federated.loss.toFixed(4)}`)
    yield* Console.log(`  central baseline  accuracy ${pct(baseline.accuracy)}, loss ${baseline.loss.toFixed(4)}`)
    const met = federated.accuracy >= TARGET_ACCURACY && gap <= MAX_GAP
    yield* Console.log(
      `  gap ${(100 * gap).toFixed(2)} points (target ≤ ${100 * MAX_GAP}), accuracy target ≥ ${pct(TARGET_ACCURACY)}: ${
        met ? "met" : "MISSED"
      }`
    )
    yield* Console.log(
      `federated test accuracy ${federated.accuracy.toFixed(3)}, central baseline ${baseline.accuracy.toFixed(3)}`
    )
    if (!met) {
      return yield* new TargetMissed({
        reason: `accuracy ${pct(federated.accuracy)}, gap ${(100 * gap).toFixed(2)} points`
      })
    }
  })

const installation = FlareInstallation.layerVenv(FlareToolchain.defaultVenvDir())

const command = Command.make(
  "demo",
  {
    payload: Args.text({ name: "PAYLOAD_JSON" }).pipe(
      Args.withDescription(`The Secure Runtime payload (default ${DEFAULT_PAYLOAD})`),
      Args.withDefault(DEFAULT_PAYLOAD)
    ),
    target: Options.choice("target", ["simulator", "poc"]).pipe(
      Options.withDescription("Where FLARE runs the job: nvflare simulator, or a throw-away local POC deployment"),
      Options.withDefault("simulator" as const)
    )
  },
  (args) =>
    program(args).pipe(
      Effect.provide(
        (args.target === "poc" ? Poc.layer() : Simulator.layer()).pipe(
          Layer.provideMerge(installation),
          Layer.provideMerge(NodeContext.layer)
        )
      )
    )
).pipe(Command.withDescription("The reference model trained across three gateways by real NVIDIA FLARE"))

type CommandError = typeof command extends Command.Command<infer _Name, infer _R, infer E, infer _A> ? E : never

// A payload the runtime refuses is a bad argument (exit 2); a failed run or a missed target `demo: <why>`, exit 1.
const describeFailure = Match.type<CommandError>().pipe(
  Match.tag(
    "PayloadTooLarge",
    "MalformedJson",
    "InvalidPayload",
    (refused) => CliMain.usageFailure("demo", `PAYLOAD_JSON: ${refused.message}`)
  ),
  Match.orElse((error) => CliMain.failureLine("demo", error))
)

CliMain.runMain(command, { name: "demo", version: packageVersion, describeFailure }, NodeContext.layer)
