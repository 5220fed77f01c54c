/**
 * Runs FLARE's processes and makes sure none outlives its run.
 *
 * A process group is not enough: the simulator starts each client worker with `setsid`, FLARE's ClientAPIExecutor
 * starts trainers with `start_new_session=True`, and POC services are daemons re-parented to init. So a process tree
 * is tracked by parent links *and* by session: everything in the session of a tracked process, and every child of a
 * tracked process, is part of the tree. Stopping sends SIGTERM to all of it, waits a grace period (picking up
 * processes started meanwhile) and then SIGKILLs whatever is left.
 */
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import { execFileSync, spawn } from "node:child_process"
import { readdirSync, readFileSync, readlinkSync } from "node:fs"
import * as Os from "node:os"

export interface ProcessInfo {
  readonly pid: number
  readonly ppid: number
  readonly sid: number
  /** Start time in clock ticks since boot (Linux), 0 where unknown. */
  readonly start: number
  readonly zombie: boolean
}

const readProc = (pid: number): ProcessInfo | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return {
      pid,
      ppid: Number(fields[1]),
      sid: Number(fields[3]),
      start: Number(fields[19]),
      zombie: fields[0] === "Z" || fields[0] === "X"
    }
  } catch {
    return undefined
  }
}

const hasProc = (() => {
  try {
    return readdirSync("/proc").some((name) => /^\d+$/.test(name))
  } catch {
    return false
  }
})()

/** Every process on the machine (Linux: /proc; elsewhere: ps, without sessions or start times). */
export const list = (): Array<ProcessInfo> => {
  if (hasProc) {
    const out: Array<ProcessInfo> = []
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue
      const info = readProc(Number(name))
      if (info !== undefined) out.push(info)
    }
    return out
  }
  try {
    return execFileSync("ps", ["-A", "-o", "pid=,ppid=,stat="], { encoding: "utf8" })
      .split("\n")
      .flatMap((line) => {
        const [pid, ppid, state] = line.trim().split(/\s+/)
        return pid === undefined || ppid === undefined
          ? []
          : [{ pid: Number(pid), ppid: Number(ppid), sid: -1, start: 0, zombie: (state ?? "").startsWith("Z") }]
      })
  } catch {
    return []
  }
}

/** The command line of a process, NUL separators as spaces ("" when it is gone or unreadable). */
export const commandLine = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim()
  } catch {
    return ""
  }
}

/** The working directory of a process, undefined when unreadable. */
export const workingDirectory = (pid: number): string | undefined => {
  try {
    return readlinkSync(`/proc/${pid}/cwd`)
  } catch {
    return undefined
  }
}

const signal = (pid: number, name: NodeJS.Signals) => {
  try {
    process.kill(pid, name)
  } catch {
    // Gone already, or not ours to signal.
  }
}

export interface StopOptions {
  /** Time between SIGTERM and SIGKILL. */
  readonly grace: Duration.DurationInput
  /** Also stop processes this accepts: a sweep, e.g. by workspace path. It must only accept processes of this run. */
  readonly extra?: (info: ProcessInfo) => boolean
}

/** A process this package started: its pid, and its start time to tell it from a later process with that pid. */
export interface Root {
  readonly pid: number
  readonly start: number
}

/** The root identity of a running process (start 0 where start times are unknown). */
export const rootOf = (pid: number): Root => ({ pid, start: readProc(pid)?.start ?? 0 })

/**
 * Stops the trees of `roots`: each root, its descendants, and everything in the sessions the roots lead (even after
 * a root has exited: POC daemons outlive `nvflare poc start`). SIGTERM, a grace period, then SIGKILL. A session
 * whose leader's pid now belongs to another process is left to the parent links and the `extra` sweep.
 */
export const stopTrees = (roots: ReadonlyArray<Root>, options: StopOptions): Effect.Effect<void> =>
  Effect.gen(function*() {
    const tracked = new Map<number, number>()
    const rootStart = new Map(roots.map((root) => [root.pid, root.start]))
    const discover = (procs: ReadonlyArray<ProcessInfo>) => {
      const byPid = new Map(procs.map((info) => [info.pid, info]))
      const ownSession = (sid: number, start: number) => {
        const leaderStart = rootStart.get(sid)
        if (leaderStart === undefined || start < leaderStart) return false
        const leader = byPid.get(sid)
        return leader === undefined || leader.start === leaderStart
      }
      let grew = true
      while (grew) {
        grew = false
        for (const info of procs) {
          if (tracked.has(info.pid) || info.zombie || info.pid === process.pid) continue
          const belongs = rootStart.get(info.pid) === info.start ||
            tracked.has(info.ppid) ||
            (info.sid > 0 && (tracked.has(info.sid) || ownSession(info.sid, info.start))) ||
            (options.extra?.(info) ?? false)
          if (belongs) {
            tracked.set(info.pid, info.start)
            grew = true
          }
        }
      }
    }
    const alive = (procs: ReadonlyArray<ProcessInfo>) =>
      procs.filter((info) => !info.zombie && tracked.get(info.pid) === info.start)
    const round = (name: NodeJS.Signals) =>
      Effect.sync(() => {
        const procs = list()
        discover(procs)
        const living = alive(procs)
        for (const info of living) signal(info.pid, name)
        return living.length
      })
    if ((yield* round("SIGTERM")) === 0) return
    const deadline = Date.now() + Duration.toMillis(Duration.decode(options.grace))
    while (Date.now() < deadline) {
      yield* Effect.sleep("100 millis")
      if ((yield* round("SIGTERM")) === 0) return
    }
    for (let attempt = 0; attempt < 20; attempt++) {
      if ((yield* round("SIGKILL")) === 0) return
      yield* Effect.sleep("100 millis")
    }
  }).pipe(Effect.uninterruptible)

/**
 * Now, in the unit of `ProcessInfo.start` (clock ticks since boot; Linux's USER_HZ is 100), or 0 where unknown.
 * Processes whose start is at or after this were started after this call.
 */
export const nowTicks = (): number => {
  try {
    return Math.floor(Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 100) - 1
  } catch {
    return 0
  }
}

/**
 * A sweep for {@link StopOptions.extra}: processes started since `since` (see {@link nowTicks}) whose command line
 * names `folder` or whose working directory is inside it. Only meaningful for a folder this run created.
 */
export const startedIn = (folder: string, since: number) => (info: ProcessInfo): boolean => {
  if (since <= 0 || info.start < since) return false
  const inside = (text: string) => text === folder || text.startsWith(`${folder}/`)
  const cwd = workingDirectory(info.pid)
  return (cwd !== undefined && inside(cwd)) || commandLine(info.pid).split(/[\s=]/).some(inside)
}

export interface RunOptions {
  /** Each output line (stdout and stderr, split separately so they never mix inside a line). */
  readonly onLine?: (line: string) => Effect.Effect<void>
  /** Keep the last this many lines in the result. */
  readonly keep?: number
  readonly grace?: Duration.DurationInput
  /**
   * `"tree"`: when the run ends, however it ends, stop every process it started. `"daemons"`: leave what it started
   * running after a successful exit (POC services); stop everything only on failure or interruption.
   */
  readonly cleanup: "tree" | "daemons"
  readonly extra?: (info: ProcessInfo) => boolean
}

export interface Finished {
  /** The process, to stop what it left running later (`cleanup: "daemons"`). */
  readonly root: Root
  /** The exit code; 128 + n when a signal ended it. */
  readonly exitCode: number
  readonly lines: ReadonlyArray<string>
}

/** A command could not be started (Node's reason, such as `ENOENT`). */
export class ProcessFailed extends Schema.TaggedError<ProcessFailed>()("ProcessFailed", {
  command: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.command}: ${this.reason}`
  }
}

/** A command to start: the program, its arguments, and what it gets on top of this process's environment. */
export interface Spawn {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly env?: Readonly<Record<string, string>>
  readonly cwd?: string
}

/** A command line as a {@link Spawn}. */
export const spawnOf = (command: string, ...args: ReadonlyArray<string>): Spawn => ({ command, args })

/**
 * Runs a command to its end, streaming its lines. The process is spawned detached (its own session), so a Ctrl-C in
 * the terminal reaches only this program, which then stops the tree in order. The lines end when the process and
 * every process holding its output pipes have closed them, as a shell's pipe would.
 */
export const run = (spec: Spawn, options: RunOptions): Effect.Effect<Finished, ProcessFailed> =>
  Effect.scoped(
    Effect.gen(function*() {
      const lines = yield* Queue.unbounded<string | typeof END>()
      const exited = yield* Deferred.make<number, ProcessFailed>()
      const child = yield* Effect.try({
        try: () =>
          spawn(spec.command, spec.args, {
            cwd: spec.cwd,
            env: { ...process.env, ...spec.env },
            detached: true,
            stdio: ["ignore", "pipe", "pipe"]
          }),
        catch: (cause) =>
          new ProcessFailed({ command: spec.command, reason: cause instanceof Error ? cause.message : String(cause) })
      })
      child.on(
        "error",
        (error) =>
          Deferred.unsafeDone(exited, Exit.fail(new ProcessFailed({ command: spec.command, reason: error.message })))
      )
      child.on(
        "exit",
        (code, signal) =>
          Deferred.unsafeDone(exited, Exit.succeed(code ?? 128 + (signal === null ? 0 : Os.constants.signals[signal])))
      )
      if (child.pid === undefined) {
        return yield* Deferred.await(exited).pipe(
          Effect.zipRight(new ProcessFailed({ command: spec.command, reason: "not started" }))
        )
      }
      const root = rootOf(child.pid)
      yield* Effect.addFinalizer((exit) =>
        options.cleanup === "daemons" && Exit.isSuccess(exit)
          ? Effect.void
          : stopTrees([root], {
            grace: options.grace ?? "5 seconds",
            ...(options.extra ? { extra: options.extra } : {})
          })
      )
      let open = 2
      for (const stream of [child.stdout, child.stderr]) {
        const decoder = new TextDecoder()
        let partial = ""
        stream.on("data", (bytes: Uint8Array) => {
          const parts = (partial + decoder.decode(bytes, { stream: true })).split(/\r?\n/)
          partial = parts.pop() ?? ""
          for (const line of parts) Queue.unsafeOffer(lines, line)
        })
        stream.on("close", () => {
          const rest = partial + decoder.decode()
          if (rest !== "") Queue.unsafeOffer(lines, rest)
          if (--open === 0) Queue.unsafeOffer(lines, END)
        })
      }
      const keep = options.keep ?? 200
      const kept: Array<string> = []
      while (true) {
        const line = yield* Queue.take(lines)
        if (line === END) break
        kept.push(line)
        if (kept.length > keep) kept.shift()
        if (options.onLine) yield* options.onLine(line)
      }
      const exitCode = yield* Deferred.await(exited)
      return { root, exitCode, lines: kept }
    })
  )

const END = Symbol("end of output")

/** The last line that parses as a JSON object: the envelope `nvflare --format json` prints. */
export const lastJsonLine = (lines: ReadonlyArray<string>): Option.Option<unknown> =>
  Chunk.fromIterable(lines).pipe(
    Chunk.reverse,
    Chunk.findFirst((line) => line.trim().startsWith("{")),
    Option.flatMap((line) => {
      try {
        return Option.some(JSON.parse(line) as unknown)
      } catch {
        return Option.none()
      }
    })
  )
