/**
 * Test helpers: a real dal-server on loopback, a client pointed at it, a hostile node:http server, temp folders, and
 * a tiny zip writer that can lie in its headers.
 */
import { DalServer } from "@fedkit/dal-server"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Fs from "node:fs/promises"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { type AddressInfo, createServer as createTcpServer, type Socket } from "node:net"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { crc32, deflateRawSync } from "node:zlib"
import * as DalClient from "../../src/DalClient.js"
import * as DalSettings from "../../src/DalSettings.js"

/** The bearer token of every test server; no output may ever contain it. */
export const TOKEN = "tok-3c1f9a7e-never-print-me"

/** Settings that keep retries quick. */
export const quick = {
  retries: 4,
  retryBaseDelay: "5 millis",
  retryMaxDelay: "40 millis",
  timeout: "2 seconds"
} as const

export type ServerOptions = Omit<DalServer.Options, "root"> & {
  readonly files: Record<string, string | Uint8Array>
}

/** A dal-server over a temp folder holding `files`, with one token that may read `s3://bkt/` and upload. */
export const startServer = (
  options: ServerOptions
): Effect.Effect<DalServer.Running, DalServer.DalServerError, Scope.Scope> =>
  Layer.build(DalServer.layerTest({
    tokens: [{ name: "gateway", token: Redacted.make(TOKEN), prefixes: ["s3://bkt/"], derived: true }],
    ...options
  })).pipe(
    Effect.map(Context.get(DalServer.DalServer)),
    Effect.provide(Logger.minimumLogLevel(LogLevel.None))
  )

/** A client for `url` with the test token and quick retries, unless overridden. */
export const makeClient = (
  url: string,
  data: Record<string, string>,
  overrides: Partial<DalSettings.Input> = {}
): Effect.Effect<DalClient.DalClientService, never, Scope.Scope> =>
  Layer.build(
    DalClient.layerWithoutSettings.pipe(
      Layer.provide(DalSettings.layerFromValues({ url, token: Redacted.make(TOKEN), data, ...quick, ...overrides }))
    )
  ).pipe(Effect.map(Context.get(DalClient.DalClient)), Effect.orDie)

/** A fresh temp folder, removed with the scope. */
export const tempDir: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(() => Fs.mkdtemp(NodePath.join(Os.tmpdir(), "dal-client-test-"))),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
)

/** Every regular file below `dir`, as sorted relative paths. */
export const filesBelow = (dir: string): Effect.Effect<ReadonlyArray<string>> =>
  Effect.promise(async () =>
    (await Fs.readdir(dir, { recursive: true, withFileTypes: true }))
      .filter((d) => d.isFile())
      .map((d) => NodePath.relative(dir, NodePath.join(d.parentPath, d.name)))
      .sort()
  )

export const readText = (path: string): Effect.Effect<string> => Effect.promise(() => Fs.readFile(path, "utf8"))

/** Deterministic pseudo-random bytes (shared with dal-server's tests). */
export { bytes } from "../../../../tooling/vitest/testData.mjs"

export interface Recorded {
  readonly method: string
  readonly url: string
  readonly authorization: string | undefined
}

/**
 * A hand-written server on loopback for what a well-behaved DAL never does (listings that escape, odd Link
 * headers). `handle` answers; every request is recorded.
 */
export const hostileServer = (
  handle: (req: IncomingMessage, res: ServerResponse, base: string) => void
): Effect.Effect<{ readonly url: string; readonly requests: Array<Recorded> }, never, Scope.Scope> =>
  Effect.gen(function*() {
    const requests: Array<Recorded> = []
    let base = ""
    const server = createServer((req, res) => {
      requests.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization })
      handle(req, res, base)
    })
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
      () =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    )
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    return { url: base, requests }
  })

export const sendJson = (res: ServerResponse, value: unknown, headers: Record<string, string> = {}) => {
  const body = Buffer.from(JSON.stringify(value))
  res.writeHead(200, { "content-type": "application/json", "content-length": String(body.length), ...headers })
  res.end(body)
}

export interface ZipEntry {
  readonly name: string
  readonly data: Uint8Array
  /** Deflate (default) or store. */
  readonly method?: 0 | 8
  /** Written into the headers instead of the real uncompressed size: a lying archive. */
  readonly declaredSize?: number
}

/** A minimal zip writer: enough to craft zip-slip names, bombs and lying headers that real tools refuse to make. */
export const makeZip = (entries: ReadonlyArray<ZipEntry>): Buffer => {
  const locals: Array<Buffer> = []
  const centrals: Array<Buffer> = []
  let offset = 0
  for (const entry of entries) {
    const method = entry.method ?? 8
    const data = method === 8 ? deflateRawSync(entry.data, { level: 9 }) : Buffer.from(entry.data)
    const name = Buffer.from(entry.name, "utf8")
    const size = entry.declaredSize ?? entry.data.length
    const crc = crc32(entry.data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(0x0800, 6)
    local.writeUInt16LE(method, 8)
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(data.length, 18)
    local.writeUInt32LE(size, 22)
    local.writeUInt16LE(name.length, 26)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(20, 4)
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(0x0800, 8)
    central.writeUInt16LE(method, 10)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(data.length, 20)
    central.writeUInt32LE(size, 24)
    central.writeUInt16LE(name.length, 28)
    central.writeUInt32LE(offset, 42)
    locals.push(local, name, data)
    centrals.push(central, name)
    offset += local.length + name.length + data.length
  }
  const directory = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(entries.length, 8)
  end.writeUInt16LE(entries.length, 10)
  end.writeUInt32LE(directory.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, directory, end])
}

/** Every run of at least 8 characters of the token: none may appear in anything the client prints. */
export const assertNoTokenPart = (text: string, what = "output") => {
  for (let at = 0; at + 8 <= TOKEN.length; at++) {
    const part = TOKEN.slice(at, at + 8)
    if (text.includes(part)) throw new Error(`${what} shows part of the token (${JSON.stringify(part)}): ${text}`)
  }
}

/**
 * A TCP server on loopback that answers every request (each head up to its blank line; bodies are ignored) with
 * `answer(socket, head, n)`, writing raw bytes: for responses no HTTP library would send.
 */
export const rawServer = (
  answer: (socket: Socket, head: string, n: number) => void
): Effect.Effect<{ readonly url: string; readonly heads: Array<string> }, never, Scope.Scope> =>
  Effect.gen(function*() {
    const heads: Array<string> = []
    const sockets = new Set<Socket>()
    const server = createTcpServer((socket) => {
      sockets.add(socket)
      socket.setNoDelay(true)
      socket.on("error", () => {})
      socket.on("close", () => sockets.delete(socket))
      let pending = ""
      socket.on("data", (data: Buffer) => {
        pending += data.toString("latin1")
        for (let end = pending.indexOf("\r\n\r\n"); end !== -1; end = pending.indexOf("\r\n\r\n")) {
          const head = pending.slice(0, end)
          pending = pending.slice(end + 4)
          heads.push(head)
          answer(socket, head, heads.length)
        }
      })
    })
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
      () =>
        Effect.async<void>((resume) => {
          for (const socket of sockets) socket.destroy()
          server.close(() => resume(Effect.void))
        })
    )
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, heads }
  })
