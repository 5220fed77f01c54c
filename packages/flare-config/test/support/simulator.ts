/**
 * `nvflare simulator` on a raw job folder, from the project's FLARE environment. flare-config's engine tests feed
 * FLARE folders that no checker has seen (some on purpose: FLARE must reject them too), and flare-config sits below
 * `@fedkit/job-packager` (whose runners take checked packages only, and whose process handling is internal), so this
 * harness runs the folder as it is.
 *
 * A run is bounded ({@link RUN_TIMEOUT}, under the tests' {@link TEST_TIMEOUT}, so a stuck run is reported here with
 * its output rather than by vitest) and leaves no process behind. FLARE starts each client worker (`setsid`) and each
 * external-process trainer (`start_new_session`) in a session of its own, out of reach of a signal to the
 * simulator's process group. A worker kills its process tree when it sees the simulator gone (nvflare's
 * `check_parent_alive`, once a second), but a wedged worker cannot, and a daemon a trainer left (re-parented to init)
 * is in no tree. So when the simulator exits, or the bound is reached, or the test is interrupted, the group is
 * killed and then every process that still runs from the run's folders.
 */
import { Command, type CommandExecutor } from "@effect/platform"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { readdirSync, readFileSync, readlinkSync } from "node:fs"
import { venvDir } from "./python.js"

/** How long one simulation may take. A 3-client, 3-round FedAvg run takes about 30 s on a quiet 2-core machine. */
export const RUN_TIMEOUT = Duration.seconds(150)

/** The timeout of a test that runs one simulation: the run's bound plus room to report it. */
export const TEST_TIMEOUT = Duration.toMillis(RUN_TIMEOUT) + 30_000

export interface RunOptions {
  readonly jobDir: string
  /** Wiped by FLARE at start, except `startup/` and `local/`. */
  readonly workspace: string
  readonly clients: ReadonlyArray<string>
  readonly env?: Readonly<Record<string, string>>
  /** Default {@link RUN_TIMEOUT}. */
  readonly timeout?: Duration.DurationInput
}

export interface RunResult {
  readonly exitCode: number
  readonly workspace: string
  readonly output: ReadonlyArray<string>
}

const TAIL_LINES = 25

/** The last lines of a run's output, for a failure message. */
export const tail = (output: ReadonlyArray<string>): string =>
  `last ${Math.min(TAIL_LINES, output.length)} lines of its output:\n${output.slice(-TAIL_LINES).join("\n")}`

/**
 * The processes still running from a run: those whose command line names one of `folders` or whose working
 * directory is inside one (the folders are this run's own temporary folders, so nothing else matches). Linux only;
 * elsewhere none are found.
 */
const processesOf = (folders: ReadonlyArray<string>): Array<number> => {
  const inside = (text: string) => folders.some((folder) => text === folder || text.startsWith(`${folder}/`))
  const read = (read: () => string) => {
    try {
      return read()
    } catch {
      return "" // gone meanwhile, or not readable
    }
  }
  let pids: Array<string> = []
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name))
  } catch {
    return []
  }
  return pids.map(Number).filter((pid) =>
    pid !== process.pid && (
      inside(read(() => readlinkSync(`/proc/${pid}/cwd`))) ||
      read(() => readFileSync(`/proc/${pid}/cmdline`, "utf8")).split(/[\0=]/).some(inside)
    )
  )
}

const kill = (pid: number) => {
  try {
    process.kill(pid, "SIGKILL")
  } catch {
    // Exited meanwhile.
  }
}

/** Kills the simulator's process group, then every process left from the run's folders, until none is left. */
const stopAll = (simulatorPid: number, folders: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    kill(-simulatorPid)
    for (let round = 0; round < 50; round++) {
      const left = processesOf(folders)
      if (left.length === 0) return
      left.forEach(kill)
      yield* Effect.sleep("100 millis")
    }
  }).pipe(Effect.uninterruptible)

/** Runs the folder with one client worker per client (external-process trainers need one each). */
export const run = (options: RunOptions): Effect.Effect<RunResult, Error, CommandExecutor.CommandExecutor> =>
  Effect.gen(function*() {
    const venv = venvDir()
    const timeout = options.timeout ?? RUN_TIMEOUT
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
    // @effect/platform-node starts it detached: the leader of its own process group.
    const simulator = yield* Command.start(command).pipe(Effect.mapError(couldNotRun))
    yield* Effect.addFinalizer(() => stopAll(simulator.pid, [options.jobDir, options.workspace]))
    const output: Array<string> = []
    // Split each stream on its own so stdout and stderr bytes never mix inside one line.
    const lines = <E>(bytes: Stream.Stream<Uint8Array, E>) => bytes.pipe(Stream.decodeText(), Stream.splitLines)
    const reader = yield* Stream.merge(lines(simulator.stdout), lines(simulator.stderr)).pipe(
      Stream.runForEach((line) => Effect.sync(() => output.push(line))),
      Effect.fork
    )
    // The exit, not the end of the output: the workers hold the pipes too, and a wedged one holds them open.
    const exitCode = yield* Effect.timeoutOption(Effect.mapError(simulator.exitCode, couldNotRun), timeout)
    yield* stopAll(simulator.pid, [options.jobDir, options.workspace])
    // With every writer gone the pipes close; the bound only guards against a reader that never ends.
    yield* Fiber.join(reader).pipe(Effect.timeoutOption("10 seconds"))
    if (Option.isNone(exitCode)) {
      return yield* Effect.fail(
        new Error(
          `nvflare simulator did not finish within ${Duration.format(timeout)} and was killed with every process ` +
            `it started; its workspace (FLARE's logs) is kept at ${options.workspace}; ${tail(output)}`
        )
      )
    }
    return { exitCode: exitCode.value, workspace: options.workspace, output }
  }).pipe(Effect.scoped)

const couldNotRun = (error: Error) => new Error(`nvflare simulator could not run: ${error.message}`)

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
      }; its workspace (FLARE's logs) is kept at ${result.workspace}; ${tail(result.output)}`
    )
  )
}
