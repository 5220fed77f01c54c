/**
 * The FLARE smoke job (`tooling/flare/smoke-job`): numpy FedAvg with an external-process Client API trainer that adds
 * 1 to every weight each round. It proves the pinned environment runs real FLARE jobs end to end, run the way users
 * run jobs: through `@fedkit/job-packager`'s simulator.
 *
 * @since 0.1.0
 */
import { FlareInstallation, type FlareRunner, Simulator } from "@fedkit/job-packager"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { FlareToolchainError } from "./FlareToolchain.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const JOB_DIR = fileURLToPath(new URL("../smoke-job", import.meta.url))

/**
 * As in `smoke-job/app/config/config_fed_server.json`.
 *
 * @since 0.1.0
 * @category constants
 */
export const INITIAL_MODEL: ReadonlyArray<ReadonlyArray<number>> = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]

/**
 * @since 0.1.0
 * @category constants
 */
export const ROUNDS = 3

/**
 * @since 0.1.0
 * @category models
 */
export type Matrix = ReadonlyArray<ReadonlyArray<number>>

/**
 * @since 0.1.0
 * @category models
 */
export interface SmokeResult {
  readonly run: FlareRunner.RunResult
  readonly modelPath: string
  readonly model: Matrix
}

/**
 * The smoke job ran but did not leave what it must: a global model, with the values its rounds give.
 *
 * @since 0.1.0
 * @category errors
 */
export class SmokeJobFailed extends Schema.TaggedError<SmokeJobFailed>()("SmokeJobFailed", {
  workspace: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `the FLARE smoke job in ${this.workspace} failed: ${this.reason}; its logs are ${this.workspace}/*/log.txt`
  }
}

/**
 * The global model after the smoke job's rounds: each round adds exactly 1 to every weight (both clients add 1 and
 * FedAvg averages them).
 *
 * @since 0.1.0
 * @category constants
 */
export const EXPECTED_MODEL: Matrix = INITIAL_MODEL.map((row) => row.map((value) => value + ROUNDS))

const Matrix = Schema.parseJson(Schema.Array(Schema.Array(Schema.Number)))

/**
 * Reads a `.npy` file with the environment's numpy.
 *
 * @since 0.1.0
 * @category running
 */
export const readNumpyMatrix = (
  file: string
): Effect.Effect<Matrix, FlareToolchainError, FlareInstallation.FlareInstallation> =>
  Effect.gen(function*() {
    const installation = yield* FlareInstallation.FlareInstallation
    const fail = (reason: string) => new FlareToolchainError({ venvDir: installation.binDir, reason })
    const printed = yield* Effect.async<string, FlareToolchainError>((resume) => {
      execFile(
        installation.python,
        ["-c", "import json, sys, numpy; print(json.dumps(numpy.load(sys.argv[1]).tolist()))", file],
        (error, stdout) =>
          resume(error === null ? Effect.succeed(stdout) : fail(`could not read ${file}: ${error.message}`))
      )
    })
    return yield* Schema.decodeUnknown(Matrix)(printed).pipe(
      Effect.mapError((error) => fail(`${file} is not a matrix: ${error.message}`))
    )
  })

/**
 * Runs the smoke job in the simulator with `clients` sites (`site-1` …), its workspace in `workspace` (which must not
 * exist or be empty), and reads back the global model.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (options: {
  readonly workspace: string
  readonly clients?: number
  readonly onLog?: (line: FlareRunner.LogLine) => Effect.Effect<void>
}): Effect.Effect<
  SmokeResult,
  FlareRunner.RunError | FlareToolchainError | SmokeJobFailed,
  FlareInstallation.FlareInstallation
> =>
  Effect.gen(function*() {
    const runner = yield* Simulator.make()
    const sites = Array.from({ length: options.clients ?? 2 }, (_, index) => ({ name: `site-${index + 1}` }))
    const result = yield* runner.run({
      job: JOB_DIR,
      sites,
      outputDir: options.workspace,
      ...(options.onLog === undefined ? {} : { onLog: options.onLog })
    })
    const modelPath = yield* Option.match(result.globalModel, {
      onNone: () => new SmokeJobFailed({ workspace: options.workspace, reason: "it left no global model" }),
      onSome: Effect.succeed
    })
    const model = yield* readNumpyMatrix(modelPath)
    return { run: result, modelPath, model }
  })
