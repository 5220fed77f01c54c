/**
 * The FLARE smoke job (`tooling/flare/smoke-job`): numpy FedAvg with an external-process Client API trainer that adds
 * 1 to every weight each round. It proves the pinned environment runs real FLARE jobs end to end.
 */
import { Command, type CommandExecutor } from "@effect/platform"
import { Effect, Schema } from "effect"
import { fileURLToPath } from "node:url"
import { FlareToolchain, FlareToolchainError } from "./FlareToolchain.js"
import * as Simulator from "./Simulator.js"

export const JOB_DIR = fileURLToPath(new URL("../smoke-job", import.meta.url))
/** As in `smoke-job/app/config/config_fed_server.json`. */
export const INITIAL_MODEL: ReadonlyArray<ReadonlyArray<number>> = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
export const ROUNDS = 3

export type Matrix = ReadonlyArray<ReadonlyArray<number>>

export interface SmokeResult extends Simulator.RunResult {
  readonly modelPath: string
  readonly model: Matrix
}

const Matrix = Schema.parseJson(Schema.Array(Schema.Array(Schema.Number)))

/** Reads a `.npy` file with the environment's numpy. */
export const readNumpyMatrix = (
  file: string
): Effect.Effect<Matrix, FlareToolchainError, FlareToolchain | CommandExecutor.CommandExecutor> =>
  Effect.gen(function*() {
    const toolchain = yield* FlareToolchain
    const printed = yield* Command.make(
      toolchain.python,
      "-c",
      "import json, sys, numpy; print(json.dumps(numpy.load(sys.argv[1]).tolist()))",
      file
    ).pipe(Command.string)
    return yield* Schema.decodeUnknown(Matrix)(printed)
  }).pipe(
    Effect.catchAll((error) =>
      Effect.flatMap(
        FlareToolchain,
        (toolchain) =>
          new FlareToolchainError({ venvDir: toolchain.venvDir, reason: `could not read ${file}: ${error.message}` })
      )
    )
  )

export const run = (options: {
  readonly workspace: string
  readonly clients?: number
  readonly onLine?: (line: string) => Effect.Effect<void>
}): Effect.Effect<
  SmokeResult,
  FlareToolchainError | Simulator.SimulationFailed,
  FlareToolchain | CommandExecutor.CommandExecutor
> =>
  Effect.gen(function*() {
    const result = yield* Simulator.run({
      jobDir: JOB_DIR,
      workspace: options.workspace,
      clients: options.clients ?? 2,
      ...(options.onLine === undefined ? {} : { onLine: options.onLine })
    }).pipe(Effect.flatMap(Simulator.succeeded(JOB_DIR)))
    const modelPath = `${options.workspace}/server/simulate_job/models/server.npy`
    const model = yield* readNumpyMatrix(modelPath)
    return { ...result, modelPath, model }
  })
