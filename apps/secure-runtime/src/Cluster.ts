/**
 * `serve --workers N`: N server processes (`node:cluster`) sharing one listening port, for throughput beyond one
 * core. Every worker writes to the same jobs folder and reads jobs it did not render back from it, so
 * `GET /v1/jobs/{id}` answers whichever worker renders and whichever answers. The primary sweeps the folder once,
 * prints the URL once the first worker listens, restarts a worker that dies, and on SIGTERM/SIGINT passes the
 * signal on and waits for every worker to finish its requests in flight.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import cluster, { type Worker } from "node:cluster"

/**
 * A worker exited before any worker was listening; its own error is on stderr.
 *
 * @since 0.1.0
 * @category errors
 */
export class WorkersFailedToStart extends Schema.TaggedError<WorkersFailedToStart>()("WorkersFailedToStart", {
  code: Schema.Number
}) {
  override get message() {
    return `a worker exited with code ${this.code} before the server was listening; see the error above`
  }
}

/**
 * Whether this process is a worker started by {@link primary}.
 *
 * @since 0.1.0
 */
export const isWorker = (): boolean => cluster.isWorker

/**
 * V8 flags each worker starts with, unless the operator set them (command line or `NODE_OPTIONS`). A render leaves
 * some hundred kilobytes of short-lived objects: with V8's default young generation (16 MiB semi-spaces) a worker
 * collects it every few dozen requests; twice as large halves the collections at a cost of 32 MiB more at most.
 *
 * @since 0.1.0
 * @category constants
 */
export const WORKER_V8_FLAGS: ReadonlyArray<string> = ["--max-semi-space-size=32"]

const workerExecArgv = (): Array<string> => {
  const given = [...process.execArgv, ...(process.env["NODE_OPTIONS"] ?? "").split(/\s+/)]
  const unset = WORKER_V8_FLAGS.filter((flag) => {
    const name = flag.split("=")[0]!
    return !given.some((arg) => arg.replaceAll("_", "-").startsWith(name))
  })
  return [...process.execArgv, ...unset]
}

/**
 * Runs the primary until interrupted: starts `workers` copies of this command and keeps them running.
 *
 * @since 0.1.0
 */
export const primary = (workers: number): Effect.Effect<never, WorkersFailedToStart> =>
  Effect.gen(function*() {
    let stopping = false
    let listening = false
    cluster.setupPrimary({ execArgv: workerExecArgv() })
    const fork = () => cluster.fork()
    const url = yield* Effect.async<string, WorkersFailedToStart>((resume) => {
      const onListening = (_worker: Worker, address: { readonly address: string | null; readonly port: number }) => {
        cluster.off("listening", onListening)
        listening = true
        const host = address.address === null || address.address === "" ? "127.0.0.1" : address.address
        resume(Effect.succeed(`http://${host.includes(":") ? `[${host}]` : host}:${address.port}`))
      }
      cluster.on("listening", onListening)
      cluster.on("exit", (worker, code, signal) => {
        if (stopping) return
        if (!listening) {
          // A worker that fails before any listens (port in use, bad module) would fail again: restarting it
          // would loop forever. The worker has said why on stderr.
          stopping = true
          for (const other of Object.values(cluster.workers ?? {})) other?.process.kill("SIGTERM")
          return resume(Effect.fail(new WorkersFailedToStart({ code: code ?? 1 })))
        }
        process.stderr.write(
          `${
            JSON.stringify({
              time: new Date().toISOString(),
              level: "ERROR",
              msg: "worker exited; starting another",
              pid: worker.process.pid,
              code,
              signal
            })
          }\n`
        )
        fork()
      })
      for (let i = 0; i < workers; i++) fork()
    })
    yield* Console.log(url)
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        stopping = true
        const alive = Object.values(cluster.workers ?? {}).flatMap((worker) =>
          worker === undefined || worker.isDead() ? [] : [worker]
        )
        if (alive.length === 0) return resume(Effect.void)
        let left = alive.length
        for (const worker of alive) {
          worker.once("exit", () => {
            left--
            if (left === 0) resume(Effect.void)
          })
          worker.process.kill("SIGTERM")
        }
      })
    )
    return yield* Effect.never
  }).pipe(Effect.scoped)
