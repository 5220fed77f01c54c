/**
 * Runs a job folder in `nvflare simulator` from the project's FLARE environment, streaming FLARE's output lines.
 * For tests and the demo; `@fedkit/job-packager` is the user-facing way to submit jobs.
 */
import { Command, type CommandExecutor } from "@effect/platform"
import { Chunk, Effect, Schema, Stream } from "effect"
import { FlareToolchain, FlareToolchainError } from "./FlareToolchain.js"

export interface RunOptions {
  readonly jobDir: string
  /** Wiped by FLARE at start, except `startup/` and `local/`. */
  readonly workspace: string
  /** A client count (`site-1` … `site-N`) or explicit site names. */
  readonly clients: number | ReadonlyArray<string>
  /** Concurrent client workers; defaults to one per client, which external-process trainers need. */
  readonly threads?: number
  readonly env?: Readonly<Record<string, string>>
  readonly onLine?: (line: string) => Effect.Effect<void>
}

export interface RunResult {
  readonly exitCode: number
  readonly workspace: string
  readonly output: ReadonlyArray<string>
}

export const run = (
  options: RunOptions
): Effect.Effect<RunResult, FlareToolchainError, FlareToolchain | CommandExecutor.CommandExecutor> =>
  Effect.gen(function*() {
    const toolchain = yield* FlareToolchain
    const clientCount = typeof options.clients === "number" ? options.clients : options.clients.length
    const clientArgs = typeof options.clients === "number"
      ? ["-n", String(options.clients)]
      : ["-c", options.clients.join(",")]
    // Trainers launched by FLARE run `python3 …`: the venv must come first on PATH so they get its nvflare.
    const path = `${toolchain.venvDir}/bin:${globalThis.process.env["PATH"] ?? ""}`
    const command = Command.make(
      toolchain.nvflare,
      "simulator",
      options.jobDir,
      "-w",
      options.workspace,
      ...clientArgs,
      "-t",
      String(options.threads ?? clientCount)
    ).pipe(Command.env({ ...options.env, PATH: path, VIRTUAL_ENV: toolchain.venvDir }))

    const simulator = yield* Command.start(command)
    // Split each stream on its own so stdout and stderr bytes never mix inside one line.
    const lines = <E>(bytes: Stream.Stream<Uint8Array, E>) => bytes.pipe(Stream.decodeText(), Stream.splitLines)
    const output = yield* Stream.merge(lines(simulator.stdout), lines(simulator.stderr)).pipe(
      Stream.tap((line) => options.onLine?.(line) ?? Effect.void),
      Stream.runCollect
    )
    const exitCode = yield* simulator.exitCode
    return { exitCode, workspace: options.workspace, output: Chunk.toReadonlyArray(output) }
  }).pipe(
    Effect.scoped,
    Effect.catchTags({
      SystemError: (error) => cannotRun(error.message),
      BadArgument: (error) => cannotRun(error.message)
    })
  )

const cannotRun = (reason: string) =>
  Effect.flatMap(
    FlareToolchain,
    (toolchain) =>
      new FlareToolchainError({ venvDir: toolchain.venvDir, reason: `nvflare simulator could not run: ${reason}` })
  )

/** The simulator ran but the job did not succeed; carries FLARE's own last error line when it printed one. */
export class SimulationFailed extends Schema.TaggedError<SimulationFailed>()("SimulationFailed", {
  jobDir: Schema.String,
  workspace: Schema.String,
  exitCode: Schema.Number,
  flareError: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `nvflare simulator failed for ${this.jobDir} (exit ${this.exitCode})` +
      (this.flareError === undefined ? "" : `: ${this.flareError}`) +
      `; see the logs under ${this.workspace}`
  }
}

// What FLARE 2.9 prints when a run died although the simulator may still exit 0 (a client-side FATAL_SYSTEM_ERROR
// stops that client's runner and the simulator carries on).
const FATAL_MARKERS = [/FATAL_SYSTEM_ERROR/, /FL server execution exception/, /Traceback \(most recent call last\)/]

/**
 * Fails unless the run exited 0 and FLARE printed no fatal error: exit 0 alone is not proof (a crashed trainer still
 * gives 0). Callers also check the artifacts they expect, such as the global model.
 */
export const succeeded = (jobDir: string) => (result: RunResult): Effect.Effect<RunResult, SimulationFailed> => {
  const fatal = result.output.find((line) => FATAL_MARKERS.some((marker) => marker.test(line)))
  return result.exitCode === 0 && fatal === undefined ? Effect.succeed(result) : new SimulationFailed({
    jobDir,
    workspace: result.workspace,
    exitCode: result.exitCode,
    ...(fatal === undefined ? lastErrorLine(result.output) : { flareError: fatal.trim().slice(0, 500) })
  })
}

const lastErrorLine = (output: ReadonlyArray<string>): { flareError?: string } => {
  const line = output.findLast((candidate) => /\b(ERROR|CRITICAL|Error|Exception)\b/.test(candidate))
  return line === undefined ? {} : { flareError: line.trim().slice(0, 500) }
}
