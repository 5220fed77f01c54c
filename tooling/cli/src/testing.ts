/**
 * The checks that a built fedkit bin follows the CLI policy, as real processes: each package's test runs them on its
 * own bin (`for (const check of policyChecks(spec)) it(check.name, check.run)`), so the policy is tested the same
 * way everywhere. Test-only: plain promises and `node:assert`, no test framework.
 */
import * as assert from "node:assert/strict"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"

export interface Finished {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface RunOptions {
  /** Added to the environment (which never has NO_COLOR or FORCE_COLOR unless given here). */
  readonly env?: Readonly<Record<string, string>> | undefined
  readonly cwd?: string | undefined
}

const environment = (extra: RunOptions["env"]): NodeJS.ProcessEnv => {
  const { FORCE_COLOR: _force, NO_COLOR: _no, ...inherited } = process.env
  return { ...inherited, ...extra }
}

/** A bin started in the background: its output so far, and how it ends. */
export interface Running {
  readonly child: ChildProcess
  readonly output: () => { readonly stdout: string; readonly stderr: string }
  /** Resolves once `ready(output)` holds; rejects, with the output, if the process ends first. */
  readonly waitFor: (ready: (output: { stdout: string; stderr: string }) => boolean, what: string) => Promise<void>
  readonly exited: Promise<Finished>
}

/** Starts `node bin ...args` with stdout and stderr as pipes (so never a terminal). */
export const startBin = (bin: string, args: ReadonlyArray<string>, options: RunOptions = {}): Running =>
  start(process.execPath, [bin, ...args], options)

const start = (program: string, args: ReadonlyArray<string>, options: RunOptions): Running => {
  const child = spawn(program, args, {
    cwd: options.cwd,
    env: environment(options.env),
    stdio: ["ignore", "pipe", "pipe"]
  })
  const output = { stdout: "", stderr: "" }
  const listeners = new Set<() => void>()
  const changed = () => listeners.forEach((listener) => listener())
  child.stdout!.on("data", (chunk: Buffer) => void (output.stdout += chunk.toString("utf8"), changed()))
  child.stderr!.on("data", (chunk: Buffer) => void (output.stderr += chunk.toString("utf8"), changed()))
  const exited = new Promise<Finished>((resolve, reject) => {
    child.once("error", reject)
    child.once("close", (code, signal) => {
      changed()
      resolve({ code, signal, ...output })
    })
  })
  const waitFor: Running["waitFor"] = (ready, what) =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (ready(output)) {
          listeners.delete(check)
          resolve()
        } else if (child.exitCode !== null || child.signalCode !== null) {
          listeners.delete(check)
          reject(
            new Error(
              `${args.join(" ")} ended (${child.exitCode ?? child.signalCode}) before ${what}:\n${output.stderr}`
            )
          )
        }
      }
      listeners.add(check)
      check()
    })
  return { child, output: () => ({ ...output }), waitFor, exited }
}

// How long a command may take to stop after SIGINT/SIGTERM before the check kills it and fails, with its output.
const signalGraceMillis = 30_000

const exitWithin = (running: Running, millis: number, signal: string): Promise<Finished> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      running.child.kill("SIGKILL")
      reject(new Error(`still running ${millis / 1000} s after ${signal}; stderr:\n${running.output().stderr}`))
    }, millis)
  })
  return Promise.race([running.exited, late]).finally(() => clearTimeout(timer))
}

/** Runs `node bin ...args` to its end. */
export const runBin = (bin: string, args: ReadonlyArray<string>, options: RunOptions = {}): Promise<Finished> =>
  startBin(bin, args, options).exited

// CSI and OSC escape sequences: any of them is colour or terminal control.
const ANSI = /\x1b[[\]]/

const assertNoAnsi = (text: string, where: string) =>
  assert.ok(!ANSI.test(text), `${where} has an ANSI escape sequence: ${JSON.stringify(text.slice(0, 200))}`)

/** A long-running command of the bin, set up by the test (a server to download from, a folder to serve…). */
export interface LongRun {
  readonly args: ReadonlyArray<string>
  readonly env?: Readonly<Record<string, string>> | undefined
  readonly cwd?: string | undefined
  /** Resolves once the command is surely in the middle of its work (its runtime is up, its work not done). */
  readonly ready: (running: Running) => Promise<void>
  /** Stops what the set-up started. */
  readonly close?: (() => Promise<void>) | undefined
}

export interface PolicySpec {
  /** The command's name, as users type it: `fedkit-dal`. */
  readonly name: string
  /** The built bin (the package's `bin` file). */
  readonly bin: string
  /** Wrong command lines, each with what the one-line error must say between `<name>: ` and ` (see …)`. */
  readonly usageErrors: ReadonlyArray<{ readonly args: ReadonlyArray<string>; readonly message: string }>
  /** What the long-running command does (`serving`, `downloading`…), and how to start it. */
  readonly longRunning: { readonly doing: string; readonly start: () => Promise<LongRun> }
}

export interface Check {
  readonly name: string
  readonly run: () => Promise<void>
  /** Set when the machine lacks what the check needs (`script`, to give the bin a terminal). */
  readonly skip: boolean
}

const hasScript = () => spawnSync("script", ["--version"], { stdio: "ignore" }).status === 0
const shellQuote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`

/** Runs the bin on a pseudo-terminal (util-linux `script`), so that its stdout and stderr are a TTY. */
const onTerminal = (bin: string, args: ReadonlyArray<string>, env: RunOptions["env"]) =>
  start("script", [
    "--quiet",
    "--return",
    "--command",
    [process.execPath, bin, ...args].map(shellQuote).join(" "),
    "/dev/null"
  ], { env }).exited

/** The policy's checks for one bin. */
export const policyChecks = (spec: PolicySpec): ReadonlyArray<Check> => {
  const { bin, name } = spec
  const interrupt = (signal: NodeJS.Signals) => async () => {
    const setup = await spec.longRunning.start()
    try {
      const running = startBin(bin, setup.args, { env: setup.env, cwd: setup.cwd })
      // A command that ends before it is under way says why, instead of leaving the test to its timeout.
      const endedEarly = running.exited.then((early) =>
        Promise.reject(
          new Error(`${name} ${setup.args.join(" ")} ended (${early.code ?? early.signal}) too soon:\n${early.stderr}`)
        )
      )
      await Promise.race([setup.ready(running), endedEarly]).catch((error: unknown) => {
        running.child.kill("SIGKILL")
        return Promise.reject(error)
      })
      running.child.kill(signal)
      const finished = await exitWithin(running, signalGraceMillis, signal)
      assert.equal(finished.code, 130, `exit code after ${signal}; stderr:\n${finished.stderr}`)
      assertNoAnsi(finished.stdout + finished.stderr, "the output")
    } finally {
      await setup.close?.()
    }
  }
  return [
    {
      name: `a usage error is one line "${name}: <what is wrong> (see ${name} --help)", exit code 2, without colour`,
      skip: false,
      run: async () => {
        // The first one also with NO_COLOR set: the same line.
        const runs = spec.usageErrors.flatMap((usage, i) =>
          i === 0 ? [{ ...usage, env: {} }, { ...usage, env: { NO_COLOR: "1" } }] : [{ ...usage, env: {} }]
        )
        for (const { args, env, message } of runs) {
          const finished = await runBin(bin, args, { env })
          assert.equal(finished.stderr, `${name}: ${message} (see ${name} --help)\n`, args.join(" "))
          assert.equal(finished.code, 2, args.join(" "))
          assert.equal(finished.stdout, "", args.join(" "))
        }
      }
    },
    {
      name: "--help into a pipe: exit code 0, the usage on stdout, no colour",
      skip: false,
      run: async () => {
        const finished = await runBin(bin, ["--help"])
        assert.equal(finished.code, 0, finished.stderr)
        assert.match(finished.stdout, new RegExp(`USAGE[\\s\\S]*\\$ ${name}`))
        assertNoAnsi(finished.stdout, "--help")
        assert.equal(finished.stderr, "")
      }
    },
    {
      name: "--help on a terminal is in colour, unless NO_COLOR is set",
      skip: !hasScript(),
      run: async () => {
        const coloured = await onTerminal(bin, ["--help"], {})
        assert.equal(coloured.code, 0, coloured.stdout)
        assert.match(coloured.stdout, ANSI)
        const plain = await onTerminal(bin, ["--help"], { NO_COLOR: "1" })
        assert.equal(plain.code, 0, plain.stdout)
        assert.match(plain.stdout, /USAGE/)
        assertNoAnsi(plain.stdout, "--help with NO_COLOR")
      }
    },
    {
      name: `SIGINT while ${spec.longRunning.doing}: exit code 130`,
      skip: false,
      run: interrupt("SIGINT")
    },
    {
      name: `SIGTERM while ${spec.longRunning.doing}: exit code 130`,
      skip: false,
      run: interrupt("SIGTERM")
    }
  ]
}
