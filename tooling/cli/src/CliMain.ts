/**
 * The command-line policy every fedkit CLI follows (fedkit-dal, fedkit-dal-server, fedkit-job, secure-runtime):
 *
 * - a usage error (unknown option, missing or bad option or argument) is one line on stderr,
 *   `<name>: <what is wrong> (see <name> --help)`, and exit code 2;
 * - a failure of the command is reported as the program says (by default `<name>: <message>`), exit code 1 unless
 *   the program gives its own;
 * - SIGINT and SIGTERM interrupt the command (its finalizers run: servers drain, partial files go) and the process
 *   exits 130, printing nothing more;
 * - a defect (a bug) is `<name>: internal error: …` and exit code 1;
 * - no colour (no ANSI escape) unless the stream is a terminal and `NO_COLOR` is unset or empty, `--help` included.
 *
 * @effect/cli prints a usage error itself, in colour and over several lines, before failing with it: while the
 * command line is parsed its Console.error is dropped, and the failure is reported here as one line.
 */
import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { format } from "node:util"
import { stripAnsi } from "./internal/ansi.js"
import * as UsageError from "./UsageError.js"

/** The exit codes every fedkit CLI shares; a program may add its own for particular failures (3 and up). */
export const ExitCode = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const

/** How a failure of the command is reported: the lines for stderr and the exit code. */
export interface Failure {
  readonly exitCode: number
  readonly lines: ReadonlyArray<string>
}

/** A CLI's name (as users type it), its version (for `--version`) and how its failures are reported. */
export interface Program<E> {
  readonly name: string
  readonly version: string
  /** Default: `<name>: <the error's message>` and exit code 1. */
  readonly describeFailure?: ((error: E) => Failure) | undefined
}

/** Whether text written to `stream` may carry colour: a terminal, and `NO_COLOR` unset or empty (no-color.org). */
export const colourAllowed = (
  stream: { readonly isTTY?: boolean | undefined },
  env: Readonly<Record<string, string | undefined>> = process.env
): boolean => stream.isTTY === true && (env["NO_COLOR"] ?? "") === ""

const writer = (stream: NodeJS.WriteStream) => {
  const colour = colourAllowed(stream)
  return (...args: ReadonlyArray<unknown>): void => {
    const text = format(...args)
    stream.write(`${colour ? text : stripAnsi(text)}\n`)
  }
}

/** Runs `effect` with a Console that writes stdout and stderr by the colour policy; `errors: false` drops stderr. */
const withPolicyConsole = <A, E, R>(effect: Effect.Effect<A, E, R>, options: { readonly errors: boolean }) =>
  Console.consoleWith((current) => {
    const out = writer(process.stdout)
    const err = options.errors ? writer(process.stderr) : () => {}
    const console: Console.Console = {
      ...current,
      log: (...args) => Effect.sync(() => out(...args)),
      info: (...args) => Effect.sync(() => out(...args)),
      error: (...args) => Effect.sync(() => err(...args)),
      warn: (...args) => Effect.sync(() => err(...args)),
      unsafe: { ...current.unsafe, log: out, info: out, error: err, warn: err }
    }
    return Effect.withConsole(effect, console)
  })

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === "string" ? error : JSON.stringify(error)

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, " ").trim()

/** The default report of a failure: `<name>: <message>`, exit code 1. */
export const failureLine = (name: string, error: unknown): Failure => ({
  exitCode: ExitCode.failure,
  lines: [`${name}: ${oneLine(messageOf(error))}`]
})

/** A usage error of `name`'s command line, found by the program itself: `<name>: <what> (see <name> --help)`, exit 2. */
export const usageFailure = (name: string, what: string): Failure => ({
  exitCode: ExitCode.usage,
  lines: [`${name}: ${oneLine(what)} (see ${name} --help)`]
})

/** The CLI as a program: `run(argv)` runs the command line, and `outcome(exit)` says how it ended. */
export interface Cli<R, E> {
  readonly run: (argv: ReadonlyArray<string>) => Effect.Effect<void, E, R | CliApp.CliApp.Environment>
  /** The exit code and the lines printed for a finished run of `argv` (none for success and interrupts). */
  readonly outcome: (argv: ReadonlyArray<string>, exit: Exit.Exit<unknown, unknown>) => Failure
}

/** `command` under the policy. */
export const make = <Name extends string, R, E, A>(
  command: Command.Command<Name, R, E, A>,
  program: Program<E>
): Cli<R, E | ValidationError.ValidationError> => {
  const { name } = program
  const describeFailure = program.describeFailure ?? ((error: E) => failureLine(name, error))
  // Inside the handler the command's own Console.error goes through; before it, only @effect/cli's usage print.
  const handled = Command.transformHandler(command, (effect) => withPolicyConsole(effect, { errors: true }))
  const cliRun = Command.run(handled, { name, version: program.version })
  const outcome = (argv: ReadonlyArray<string>, exit: Exit.Exit<unknown, unknown>): Failure => {
    if (Exit.isSuccess(exit)) return { exitCode: ExitCode.ok, lines: [] }
    if (Cause.isInterruptedOnly(exit.cause)) return { exitCode: ExitCode.interrupted, lines: [] }
    const failure = Cause.failureOption(exit.cause)
    if (Option.isNone(failure)) {
      return {
        exitCode: ExitCode.failure,
        lines: [`${name}: internal error: ${oneLine(Cause.pretty(exit.cause).split("\n")[0] ?? "")}`]
      }
    }
    const error = failure.value
    if (ValidationError.isValidationError(error)) {
      return usageFailure(name, UsageError.describe(command, argv.slice(2), error))
    }
    // The command fails with E only (@effect/cli adds ValidationError, handled above).
    return describeFailure(error as E)
  }
  return {
    run: (argv) =>
      withPolicyConsole(cliRun(argv), { errors: false }).pipe(
        Effect.onExit((exit) =>
          Effect.sync(() => {
            for (const line of outcome(argv, exit).lines) process.stderr.write(`${stripAnsi(line)}\n`)
          })
        )
      ),
    outcome
  }
}

/**
 * Runs `command` on `process.argv` under the policy, with `layer` for what it needs, and exits with the policy's
 * exit code. For a bin module.
 */
export const runMain = <Name extends string, R, E, A>(
  command: Command.Command<Name, R, E, A>,
  program: Program<E>,
  layer: Layer.Layer<NoInfer<R> | CliApp.CliApp.Environment>
): void => {
  const cli = make(command, program)
  cli.run(process.argv).pipe(
    Effect.provide(layer),
    NodeRuntime.runMain({
      disableErrorReporting: true,
      disablePrettyLogger: true,
      teardown: (exit, onExit) => onExit(cli.outcome(process.argv, exit).exitCode)
    })
  )
}
