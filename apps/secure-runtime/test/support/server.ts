import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import type { FlareRunner } from "@fedkit/job-packager"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import type * as Scope from "effect/Scope"
import { connect } from "node:net"
import * as Inputs from "../../src/Inputs.js"
import * as Jobs from "../../src/Jobs.js"
import * as JsonLog from "../../src/JsonLog.js"
import * as RuntimeModule from "../../src/RuntimeModule.js"
import * as Server from "../../src/Server.js"
import { DATASET2GW, fixture } from "./fixtures.js"

export interface Running {
  readonly url: string
  readonly port: number
  readonly jobsDir: string
  /** The server's JSON log lines so far. */
  readonly logs: Array<string>
  /** Shuts the server down as SIGTERM does, and waits until it has stopped. */
  readonly stop: Effect.Effect<void>
}

/** A real server on 127.0.0.1 and a free port, with a fresh jobs folder; stopped when the scope closes. */
export const startServer = (
  options: {
    readonly module?: string
    readonly requestTimeout?: number
    readonly maxConcurrentRenders?: number
    readonly maxQueuedRenders?: number
    readonly shutdownGrace?: number
    readonly runner?: FlareRunner.Runner
  } = {}
): Effect.Effect<Running, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const loaded = yield* RuntimeModule.load(options.module ?? fixture("good"))
    const dataset2gw = yield* Inputs.dataset2gw(JSON.stringify(DATASET2GW))
    const jobsDir = yield* fs.makeTempDirectoryScoped({ prefix: "fedkit-sr-jobs-" })
    const logs: Array<string> = []
    const listening = yield* Deferred.make<string>()
    const jobs = yield* Jobs.make({
      runtime: loaded.runtime,
      dataset2gw,
      jobsDir,
      ...(options.maxConcurrentRenders === undefined ? {} : { maxConcurrentRenders: options.maxConcurrentRenders }),
      ...(options.maxQueuedRenders === undefined ? {} : { maxQueuedRenders: options.maxQueuedRenders }),
      ...(options.runner === undefined ? {} : { runner: options.runner })
    })
    const fiber = yield* Server.serve({
      jobs,
      port: 0,
      host: "127.0.0.1",
      maxBodyBytes: loaded.runtime.limits.maxBytes,
      ...(options.requestTimeout === undefined ? {} : { requestTimeout: options.requestTimeout }),
      shutdownGrace: options.shutdownGrace ?? "5 seconds",
      onListening: (url) => Deferred.succeed(listening, url)
    }).pipe(
      Effect.scoped,
      Effect.provide(Logger.replace(Logger.defaultLogger, JsonLog.make((line) => logs.push(line)))),
      Effect.forkScoped
    )
    const url = yield* Deferred.await(listening)
    return { url, port: Number(new URL(url).port), jobsDir, logs, stop: Fiber.interrupt(fiber) }
  }).pipe(Effect.provide(NodeContext.layer))

export interface Answer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly json: unknown
}

/** POSTs a body with fetch. */
export const post = (url: string, body: string | Uint8Array, contentType = "application/json") =>
  Effect.promise(async (): Promise<Answer> => {
    const response = await fetch(`${url}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": contentType },
      body
    })
    const text = await response.text()
    return { status: response.status, headers: Object.fromEntries(response.headers), json: JSON.parse(text) }
  })

export const get = (url: string, path: string) =>
  Effect.promise(async (): Promise<Answer> => {
    const response = await fetch(`${url}${path}`)
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      json: JSON.parse(await response.text())
    }
  })

/**
 * Sends raw bytes on a new connection and collects what comes back until the server closes the connection or the
 * first answer is complete. `then` runs once the first bytes are written (to send more later).
 */
export const raw = (
  port: number,
  head: string,
  options: { readonly then?: (write: (data: string) => void) => void } = {}
) =>
  Effect.async<{ readonly status: number; readonly text: string }>((resume) => {
    const socket = connect(port, "127.0.0.1")
    let received = ""
    let done = false
    const finish = () => {
      if (done) return
      done = true
      socket.destroy()
      resume(Effect.succeed({ status: Number(received.slice(9, 12)), text: received }))
    }
    socket.on("data", (chunk) => {
      received += chunk.toString("utf8")
      const end = received.indexOf("\r\n\r\n")
      const length = /content-length: (\d+)/i.exec(received)?.[1]
      if (end >= 0 && length !== undefined && received.length >= end + 4 + Number(length)) finish()
    })
    socket.on("error", finish)
    socket.on("close", finish)
    socket.write(head, () => options.then?.((data) => socket.write(data)))
    return Effect.sync(() => socket.destroy())
  })
