/**
 * The quick start's main job until the reference model's demo lands: runs the FLARE smoke job in `nvflare simulator`
 * with two sites and checks the global model FLARE wrote. Progress on stderr, results on stdout.
 */
import { NodePlatform } from "@fedkit/job-packager"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { rm } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import * as FlareToolchain from "./FlareToolchain.js"
import * as SmokeJob from "./SmokeJob.js"

const workspace = fileURLToPath(new URL("../../../.fedkit/smoke-demo", import.meta.url))
const clients = 2

const format = (matrix: SmokeJob.Matrix) => matrix.map((row) => `[${row.join(", ")}]`).join(" ")

const program = Effect.gen(function*() {
  yield* Console.error(
    `running ${SmokeJob.JOB_DIR} in nvflare simulator with ${clients} sites (workspace ${workspace})`
  )
  // The previous demo's workspace: a run's output folder must be new or empty.
  yield* Effect.promise(() => rm(workspace, { recursive: true, force: true }))
  const result = yield* SmokeJob.run({
    workspace,
    clients,
    onLog: (line) => /round|error/i.test(line.text) ? Console.error(`  flare | ${line.text.trim()}`) : Effect.void
  })
  yield* Console.log(`job:          ${SmokeJob.JOB_DIR}`)
  yield* Console.log(`server log:   ${result.run.logs.server.pipe(Option.getOrElse(() => "-"))}`)
  yield* Console.log(`global model: ${result.modelPath}`)
  yield* Console.log(`initial model ${format(SmokeJob.INITIAL_MODEL)}`)
  yield* Console.log(`global model  ${format(result.model)}`)
  if (format(result.model) !== format(SmokeJob.EXPECTED_MODEL)) {
    return yield* new SmokeJob.SmokeJobFailed({
      workspace,
      reason: `the global model should be ${format(SmokeJob.EXPECTED_MODEL)} after ${SmokeJob.ROUNDS} rounds`
    })
  }
  yield* Console.log(
    `smoke job passed: ${SmokeJob.ROUNDS} FedAvg rounds on ${clients} sites moved every weight by +1 per round`
  )
})

program.pipe(
  Effect.provide(FlareToolchain.layer),
  Effect.tapError((error) => Console.error(error.message)),
  (main) => NodePlatform.runMain(main, { disableErrorReporting: true })
)
