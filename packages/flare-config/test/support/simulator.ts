/**
 * `nvflare simulator` on a raw job folder, from the project's FLARE environment. flare-config's engine tests feed
 * FLARE folders that no checker has seen (some on purpose: FLARE must reject them too), and flare-config sits below
 * `@fedkit/job-packager` (whose runners take checked packages only), so this harness runs the folder as it is.
 */
import { Command, type CommandExecutor } from "@effect/platform"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { venvDir } from "./python.js"

export interface RunOptions {
  readonly jobDir: string
  /** Wiped by FLARE at start, except `startup/` and `local/`. */
  readonly workspace: string
  readonly clients: ReadonlyArray<string>
  readonly env?: Readonly<Record<string, string>>
}

export interface RunResult {
  readonly exitCode: number
  readonly workspace: string
  readonly output: ReadonlyArray<string>
}

/** Runs the folder with one client worker per client (external-process trainers need one each). */
export const run = (options: RunOptions): Effect.Effect<RunResult, Error, CommandExecutor.CommandExecutor> =>
  Effect.gen(function*() {
    const venv = venvDir()
    // Trainers launched by FLARE run `python3 …`: the venv must come first on PATH so they get its nvflare.
    const command = Command.make(
      `${venv}/bin/nvflare`,
      "simulator",
      options.jobDir,
      "-w",
      options.workspace,
      "-c",
      options.clients.join(","),
      "-t",
      String(options.clients.length)
    ).pipe(Command.env({ ...options.env, PATH: `${venv}/bin:${process.env["PATH"] ?? ""}`, VIRTUAL_ENV: venv }))
    const simulator = yield* Command.start(command)
    // Split each stream on its own so stdout and stderr bytes never mix inside one line.
    const lines = <E>(bytes: Stream.Stream<Uint8Array, E>) => bytes.pipe(Stream.decodeText(), Stream.splitLines)
    const output = yield* Stream.merge(lines(simulator.stdout), lines(simulator.stderr)).pipe(Stream.runCollect)
    const exitCode = yield* simulator.exitCode
    return { exitCode, workspace: options.workspace, output: Chunk.toReadonlyArray(output) }
  }).pipe(Effect.scoped, Effect.mapError((error) => new Error(`nvflare simulator could not run: ${error.message}`)))

// What FLARE 2.9 prints when a run died although the simulator may still exit 0 (a client-side FATAL_SYSTEM_ERROR
// stops that client's runner and the simulator carries on).
const FATAL_MARKERS = [/FATAL_SYSTEM_ERROR/, /FL server execution exception/, /Traceback \(most recent call last\)/]

/**
 * Fails unless the run exited 0 and FLARE printed no fatal error: exit 0 alone is not proof (a crashed trainer still
 * gives 0). Callers also check the artifacts they expect, such as the global model.
 */
export const succeeded = (jobDir: string) => (result: RunResult): Effect.Effect<RunResult, Error> => {
  const fatal = result.output.find((line) => FATAL_MARKERS.some((marker) => marker.test(line)))
  const lastError = result.output.findLast((line) => /\b(ERROR|CRITICAL|Error|Exception)\b/.test(line))
  return result.exitCode === 0 && fatal === undefined ? Effect.succeed(result) : Effect.fail(
    new Error(
      `nvflare simulator failed for ${jobDir} (exit ${result.exitCode}): ${
        (fatal ?? lastError ?? "no error line").trim().slice(0, 500)
      }; see the logs under ${result.workspace}`
    )
  )
}
