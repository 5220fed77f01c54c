import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import { createReadStream, createWriteStream } from "node:fs"
import * as fs from "node:fs/promises"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as path from "node:path"
import { Transform } from "node:stream"
import { pipeline } from "node:stream/promises"
import { type Access, governingPolicy, mayServe } from "./access.js"
import { type Authenticator, type Grant, mayRead } from "./auth.js"
import {
  compareKeys,
  DiskError,
  etagOf,
  isInside,
  listFolder,
  NotFound,
  parseRange,
  resolveInside,
  resolveKey
} from "./disk.js"
import type { BodyFault, FaultRequest, Faults } from "./faults.js"
import { BadRequest, encodeKey, type Key, maxPathBytes, parseKey, parseTarget, unsafeSegment } from "./keys.js"
import { chunkBytes, sendFile } from "./sendFile.js"

/** One line of the request log (also what `requests` returns). Never holds a token or the Authorization header. */
export interface RequestLogEntry {
  readonly id: string
  readonly time: string
  readonly method: string
  /** The raw request path as received, without the query string. */
  readonly path: string
  /** The decoded key (`s3://…` for datasets/policies, `<name>/<file>` for derived-data uploads). */
  readonly key?: string
  readonly status: number
  /** Body bytes sent (GET) or received (PUT). */
  readonly bytes: number
  readonly durationMillis: number
  readonly range?: string
  readonly ifRange?: string
  readonly cursor?: string
  /** Name of the token grant that authorised the request (never the token). */
  readonly grant?: string
  /** Tag of the injected fault, when one fired. */
  readonly fault?: string
  /** `aborted` when the response did not complete (client went away, or a fault cut it). */
  readonly outcome: "complete" | "aborted"
}

export interface ListingConfig {
  readonly pageSize: number
  /** List folders too (`s3://b/dir/sub/`), as the platform tutorial shows; the official client cannot handle them. */
  readonly folderEntries: boolean
  /** `suffix`: the bare `<key>?cursor=…` the official client appends to `datasets/`; `rfc8288`: `<URL>; rel="next"`. */
  readonly pageLinks: "suffix" | "rfc8288"
  /** Base URL (trailing slash) of `rfc8288` links: configured, never taken from a request's `Host` header. */
  readonly publicUrl: () => string
}

export interface HandlerConfig {
  readonly rootReal: string
  /** Absolute, not necessarily existing yet: created on the first upload. */
  readonly derivedDir: string
  readonly listing: ListingConfig
  readonly latencyMillis: number
  /** File downloads and uploads in progress, and how many may be. */
  readonly transfers: { active: number; readonly max: number }
  readonly maxUploadBytes: number
  readonly auth: Authenticator | undefined
  readonly policies: ReadonlyMap<string, unknown>
  readonly faults: Faults
  readonly record: (entry: RequestLogEntry) => Effect.Effect<void>
  /**
   * Exchanges whose last byte (or cut) is on its way; done once their entry is recorded. `requests` waits for
   * these, so a client that has seen a whole response always finds its entry.
   */
  readonly settling: Set<Deferred.Deferred<void>>
}

class HttpError extends Data.TaggedError("HttpError")<{
  readonly status: number
  readonly reason: string
  readonly headers?: Record<string, string>
}> {}

/** The response was cut on purpose (fault) or by the client; nothing more can be sent. */
class ResponseCut extends Data.TaggedError("ResponseCut")<{ readonly reason: string }> {}

interface Exchange {
  readonly id: string
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly config: HandlerConfig
  /** Response body bytes handed to the connection. */
  sent: number
  /** Upload bytes stored (PUT). */
  received?: number
  key?: string
  grant?: string
  fault?: string
  /** Body length announced in Content-Length, once headers are sent. */
  announced?: number
  settled?: Deferred.Deferred<void>
}

/** Marks the exchange as about to be seen complete by the client; synchronous so stream callbacks can use it. */
const settleNow = (ex: Exchange): void => {
  if (ex.settled !== undefined) return
  ex.settled = Deferred.unsafeMake<void>(FiberId.none)
  ex.config.settling.add(ex.settled)
}

const markSettling = (ex: Exchange) => Effect.sync(() => settleNow(ex))

const jsonHeaders = { "content-type": "application/json; charset=utf-8" }

const sendJson = (ex: Exchange, status: number, value: unknown, headers: Record<string, string> = {}) =>
  sendBody(ex, status, { ...jsonHeaders, ...headers }, Buffer.from(JSON.stringify(value), "utf8"), undefined)

/**
 * Writes a chunk with backpressure: waits for "drain" only when the socket buffer is full. With `flush`, waits
 * until the chunk is handed to the OS, so a fault cutting the connection next cuts exactly there.
 */
const write = (res: ServerResponse, chunk: Uint8Array, flush: boolean) =>
  Effect.async<void, ResponseCut>((resume) => {
    if (res.destroyed) return resume(Effect.fail(new ResponseCut({ reason: "client went away" })))
    let done = false
    const finish = (effect: Effect.Effect<void, ResponseCut>) => {
      if (done) return
      done = true
      res.off("close", onClose)
      res.off("drain", onDrain)
      resume(effect)
    }
    const onClose = () => finish(Effect.fail(new ResponseCut({ reason: "client went away" })))
    const onDrain = () => finish(Effect.void)
    res.on("close", onClose)
    const flushed = (error: Error | null | undefined) =>
      error ? finish(Effect.fail(new ResponseCut({ reason: "write failed" }))) : finish(Effect.void)
    const ready = res.write(chunk, flush ? flushed : undefined)
    if (!flush) {
      if (ready) finish(Effect.void)
      else res.on("drain", onDrain)
    }
    return Effect.sync(() => {
      res.off("close", onClose)
      res.off("drain", onDrain)
    })
  })

const end = (ex: Exchange) =>
  Effect.zipRight(
    markSettling(ex),
    Effect.async<void, ResponseCut>((resume) => {
      const { res } = ex
      const onClose = () =>
        resume(res.writableFinished ? Effect.void : Effect.fail(new ResponseCut({ reason: "closed" })))
      res.once("close", onClose)
      res.end()
      return Effect.sync(() => res.off("close", onClose))
    })
  )

/** Applies a body fault at the byte boundary it names; returns true when the response must stop there. */
const applyBodyFault = (ex: Exchange, fault: BodyFault) =>
  Effect.gen(function*() {
    const { res } = ex
    if (fault._tag !== "StallBody") yield* markSettling(ex)
    switch (fault._tag) {
      case "StallBody":
        yield* Effect.sleep(fault.millis)
        return false
      case "ResetMidBody":
        // TCP RST: the client sees ECONNRESET, not a clean end of stream
        res.socket?.resetAndDestroy()
        return true
      case "TruncateBody":
        // FIN after fewer bytes than Content-Length announced: a silently short body
        res.socket?.end()
        return true
    }
  })

/** A byte range of a file on disk, both ends inclusive. */
interface FileRange {
  readonly real: string
  readonly start: number
  readonly end: number
  readonly length: number
}

const fileRange = (real: string, start: number, end: number): FileRange => ({
  real,
  start,
  end,
  length: end - start + 1
})

/**
 * Sends status, headers and a body of known length, applying a body fault when one matches. Files stream with
 * backpressure, so any size uses constant memory.
 */
const sendBody = (
  ex: Exchange,
  status: number,
  headers: Record<string, string>,
  body: Buffer | FileRange,
  faultRequest: FaultRequest | undefined
) =>
  Effect.gen(function*() {
    const { req, res } = ex
    const length = body.length
    const withBody = req.method !== "HEAD" && length > 0
    const fault = withBody && faultRequest !== undefined
      ? yield* ex.config.faults.bodyFault(faultRequest)
      : undefined
    if (fault !== undefined) ex.fault = fault._tag
    res.writeHead(status, { ...headers, "content-length": String(length), "x-request-id": ex.id })
    ex.announced = withBody ? length : 0
    if (!withBody) return yield* end(ex)
    if (fault === undefined) {
      if (Buffer.isBuffer(body)) {
        yield* markSettling(ex)
        ex.sent = length
        res.write(body)
      } else {
        yield* pipeFile(ex, body)
      }
    } else {
      res.flushHeaders()
      const stream = Buffer.isBuffer(body) ? Stream.make(new Uint8Array(body)) : fileStream(body)
      if (yield* sendWithFault(ex, stream, fault)) return
    }
    if (ex.sent !== length) {
      // the file shrank while being sent: never let a short body look complete
      res.destroy()
      return
    }
    yield* end(ex)
  })

/**
 * The hot path: file chunks go to the socket from I/O callbacks, not through the fiber, which would cost more CPU
 * per GiB than the copies themselves. Settling is marked before the last chunk is written, as the client may see
 * the response complete as soon as it leaves.
 */
const pipeFile = (ex: Exchange, range: FileRange) =>
  Effect.async<void, ResponseCut | DiskError>((resume) => {
    const stop = sendFile(ex.res, {
      path: range.real,
      start: range.start,
      length: range.length,
      onChunk: (bytes) => {
        ex.sent += bytes
        if (ex.sent >= range.length) settleNow(ex)
      }
    }, (end) => {
      switch (end._tag) {
        case "Sent":
        case "Short":
          return resume(Effect.void)
        case "ReadFailed":
          return resume(Effect.fail(new DiskError({ path: range.real, cause: end.cause })))
        case "Closed":
          return resume(Effect.fail(new ResponseCut({ reason: "client went away" })))
      }
    })
    return Effect.sync(stop)
  })

/** Sends chunk by chunk through the fiber, so a fault can stall or cut the body at the exact byte it names. */
const sendWithFault = (ex: Exchange, stream: Stream.Stream<Uint8Array, DiskError>, fault: BodyFault) =>
  Effect.gen(function*() {
    const length = ex.announced ?? 0
    const send = (chunk: Uint8Array, flush: boolean) =>
      Effect.gen(function*() {
        if (chunk.length === 0) return
        if (ex.sent + chunk.length >= length) yield* markSettling(ex)
        ex.sent += chunk.length
        yield* write(ex.res, chunk, flush)
      })
    let pending: BodyFault | undefined = fault
    return yield* Stream.runFoldWhileEffect(stream, false, (stop) => !stop, (_, chunk) =>
      Effect.gen(function*() {
        if (pending === undefined || ex.sent + chunk.length < pending.afterBytes) {
          yield* send(chunk, false)
          return false
        }
        const head = chunk.subarray(0, pending.afterBytes - ex.sent)
        yield* send(head, true)
        const stop = yield* applyBodyFault(ex, pending)
        pending = undefined
        if (stop) return true
        yield* send(chunk.subarray(head.length), false)
        return false
      }))
  })

const fileStream = (range: FileRange) =>
  Stream.unwrapScoped(
    Effect.acquireRelease(
      Effect.sync(() =>
        createReadStream(range.real, { start: range.start, end: range.end, highWaterMark: chunkBytes })
      ),
      (stream) => Effect.sync(() => stream.destroy())
    ).pipe(
      Effect.map((readable) =>
        Stream.fromAsyncIterable(
          readable as AsyncIterable<Buffer>,
          (cause) => new DiskError({ path: range.real, cause })
        )
      )
    )
  )

const requireGrant = (ex: Exchange): Effect.Effect<Grant | undefined, HttpError> => {
  const auth = ex.config.auth
  if (auth === undefined) return Effect.succeed(undefined)
  const header = ex.req.headers.authorization
  const grant = auth.authenticate(header)
  if (grant === undefined) {
    return Effect.fail(
      new HttpError({
        status: 401,
        reason: header === undefined ? "missing bearer token" : "invalid bearer token",
        headers: {
          "www-authenticate": header === undefined
            ? "Bearer realm=\"dal\""
            : "Bearer realm=\"dal\", error=\"invalid_token\""
        }
      })
    )
  }
  ex.grant = grant.name
  return Effect.succeed(grant)
}

const headerFault = (ex: Exchange, request: FaultRequest) =>
  Effect.gen(function*() {
    const fault = yield* ex.config.faults.headerFault(request)
    if (fault === undefined) return
    ex.fault = fault._tag
    if (fault._tag === "StallHeaders") return yield* Effect.sleep(fault.millis)
    return yield* new HttpError({
      status: fault.status,
      reason: `injected fault: status ${fault.status}`,
      ...(fault.retryAfter === undefined ? {} : { headers: { "retry-after": fault.retryAfter } })
    })
  })

/**
 * Runs `transfer` holding one of the transfer slots, or answers 503 when all are taken: each slot may hold two read
 * buffers and a socket's worth of unsent bytes, so the cap bounds what a flood of slow clients can make us hold.
 */
const withTransferSlot = <A, E>(ex: Exchange, transfer: Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.suspend(() => {
      const { transfers } = ex.config
      if (transfers.active >= transfers.max) {
        return Effect.fail(
          new HttpError({
            status: 503,
            reason: `the server is busy with ${transfers.max} file transfers (--max-transfers); retry shortly`,
            headers: { "retry-after": "1" }
          })
        )
      }
      transfers.active += 1
      return Effect.void
    }),
    () => transfer,
    () => Effect.sync(() => ex.config.transfers.active -= 1)
  )

/** Resolves a key to what would be served, refusing (as absent) what the access rules do not let through. */
const resolveServed = (access: Access, key: Key) =>
  Effect.filterOrFail(
    resolveKey(access.rootReal, key),
    (entry) => mayServe(access, key, entry.real, key.isFolder),
    () => new NotFound({ reason: `${key.key} not found` })
  )

const serveFile = (ex: Exchange, access: Access, key: Key, faultRequest: FaultRequest) =>
  Effect.gen(function*() {
    const { real, stats } = yield* resolveServed(access, key)
    const etag = etagOf(stats)
    const common = {
      "content-type": "application/octet-stream",
      "accept-ranges": "bytes",
      etag,
      "last-modified": stats.mtime.toUTCString()
    }
    const ifRange = ex.req.headers["if-range"] as string | undefined
    // If-Range with a stale validator means "send everything": the client's partial copy is of another version
    const range = ifRange !== undefined && ifRange !== etag
      ? { _tag: "Full" as const }
      : parseRange(ex.req.headers.range, stats.size)
    // a body of many bytes ties up buffers and a socket for a while; headers alone do not
    const transfer = <A, E>(send: Effect.Effect<A, E>) =>
      ex.req.method === "HEAD" || stats.size === 0 ? send : withTransferSlot(ex, send)
    switch (range._tag) {
      case "Unsatisfiable":
        return yield* new HttpError({
          status: 416,
          reason: `range ${ex.req.headers.range} is outside ${key.key} (${stats.size} bytes)`,
          headers: { "content-range": `bytes */${stats.size}` }
        })
      case "Full":
        return yield* transfer(sendBody(ex, 200, common, fileRange(real, 0, stats.size - 1), faultRequest))
      case "Partial":
        return yield* transfer(
          sendBody(
            ex,
            206,
            { ...common, "content-range": `bytes ${range.start}-${range.end}/${stats.size}` },
            fileRange(real, range.start, range.end),
            faultRequest
          )
        )
    }
  })

/**
 * The cursor is the last key of the previous page, so pages stay consistent while files are added. Anything that is
 * not such a key of this folder, in canonical base64url, was not made by this server.
 */
const decodeCursor = (cursor: string | null, folder: Key): Either.Either<string | undefined, BadRequest> => {
  if (cursor === null) return Either.right(undefined)
  const decoded = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, "base64url") : undefined
  const key = decoded?.toString("utf8")
  const valid = decoded !== undefined && key !== undefined && decoded.toString("base64url") === cursor &&
    Buffer.from(key, "utf8").equals(decoded) && key.startsWith(folder.key) && key !== folder.key
  return valid ? Either.right(key) : Either.left(
    new BadRequest({
      reason: `invalid cursor "${
        cursor.slice(0, 40)
      }" for ${folder.key}: follow the Link header of the previous page as sent`
    })
  )
}

const serveListing = (
  ex: Exchange,
  access: Access,
  key: Key,
  query: URLSearchParams,
  faultRequest: FaultRequest
) =>
  Effect.gen(function*() {
    const { listing, rootReal } = ex.config
    const folder = yield* resolveServed(access, key)
    const entries = yield* listFolder(rootReal, key.key, folder.real, (entry, real, isFolder) =>
      Either.match(parseKey(entry), {
        onLeft: () =>
          false,
        onRight: (entryKey) =>
          mayServe(access, entryKey, real, isFolder)
      }))
    const keys = listing.folderEntries ? entries : entries.filter((entry) =>
      !entry.endsWith("/")
    )
    const after = yield* decodeCursor(query.get("cursor"), key)
    const from = after === undefined ? 0 : keys.findIndex((k) => compareKeys(k, after) > 0)
    const page = from === -1 ? [] : keys.slice(from, from + listing.pageSize)
    const last = page[page.length - 1]
    const headers: Record<string, string> = {}
    if (from !== -1 && from + listing.pageSize < keys.length && last !== undefined) {
      const next = `${encodeKey(key.key)}?cursor=${Buffer.from(last, "utf8").toString("base64url")}`
      // the official client appends the raw header value to `{APH_API_DAL_URL}datasets/`
      headers.link = listing.pageLinks === "suffix"
        ? next
        : `<${listing.publicUrl()}datasets/${next}>; rel="next"`
    }
    return yield* sendBody(
      ex,
      200,
      { ...jsonHeaders, ...headers },
      Buffer.from(JSON.stringify(page), "utf8"),
      faultRequest
    )
  })

const servePolicy = (ex: Exchange, key: Key) => {
  const { policies } = ex.config
  const found = governingPolicy(policies, key)
  return found === undefined
    ? Effect.fail(new HttpError({ status: 404, reason: `no policy for ${key.key} or any folder enclosing it` }))
    : sendJson(ex, 200, policies.get(found))
}

const read = (ex: Exchange, endpoint: "datasets" | "policies", rest: string, query: URLSearchParams) =>
  Effect.gen(function*() {
    const method = ex.req.method ?? "GET"
    if (method !== "GET" && method !== "HEAD") {
      return yield* new HttpError({
        status: 405,
        reason: `${method} not allowed here`,
        headers: { allow: "GET, HEAD" }
      })
    }
    const grant = yield* requireGrant(ex)
    ex.key = rest
    const key = yield* parseKey(rest)
    if (grant !== undefined && !mayRead(grant, key.key)) {
      return yield* new HttpError({ status: 403, reason: `token "${grant.name}" may not read ${key.key}` })
    }
    const faultRequest: FaultRequest = { method, endpoint, key: key.key }
    yield* headerFault(ex, faultRequest)
    if (endpoint === "policies") return yield* servePolicy(ex, key)
    const access: Access = { rootReal: ex.config.rootReal, policies: ex.config.policies, grant }
    return yield* key.isFolder
      ? serveListing(ex, access, key, query, faultRequest)
      : serveFile(ex, access, key, faultRequest)
  })

const derivedName = /^[A-Za-z0-9_-]{1,128}$/

class UploadTooLarge extends Error {}

/** Passes bytes through until more than `max` have come, then fails the pipeline. */
const limitBytes = (max: number) => {
  let seen = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length
      callback(seen > max ? new UploadTooLarge() : null, seen > max ? undefined : chunk)
    }
  })
}

/** The rest of the body is not read: the connection closes after the answer, so it cannot be mistaken for a request. */
const tooLarge = (max: number) =>
  new HttpError({
    status: 413,
    reason: `the upload is larger than ${max} bytes (--max-upload-bytes); store less or raise the limit`,
    headers: { connection: "close" }
  })

/** Streams the request body to a temp file next to the target, then renames it: readers never see a partial file. */
const receiveDerived = (ex: Exchange, rest: string) =>
  Effect.gen(function*() {
    const method = ex.req.method ?? "PUT"
    if (method !== "PUT") {
      return yield* new HttpError({ status: 405, reason: `${method} not allowed here`, headers: { allow: "PUT" } })
    }
    const grant = yield* requireGrant(ex)
    ex.key = rest
    const [name = "", ...file] = rest.split("/")
    if (!derivedName.test(name)) {
      return yield* new BadRequest({ reason: `derived dataset name "${name}" must be 1-128 of A-Z a-z 0-9 - _` })
    }
    const problem = file.length === 0 ? "missing file name" : file.map(unsafeSegment).find((p) => p !== undefined)
    if (problem !== undefined) return yield* new BadRequest({ reason: `file name "${file.join("/")}": ${problem}` })
    if (grant !== undefined && grant.derived !== true) {
      return yield* new HttpError({ status: 403, reason: `token "${grant.name}" may not write derived data` })
    }
    yield* headerFault(ex, { method, endpoint: "dataset", key: rest })
    const { derivedDir, maxUploadBytes, rootReal } = ex.config
    const announced = Number(ex.req.headers["content-length"] ?? 0)
    if (announced > maxUploadBytes) return yield* tooLarge(maxUploadBytes)
    const pathBytes = Buffer.byteLength(path.join(derivedDir, name, ...file), "utf8")
    if (pathBytes >= maxPathBytes) {
      return yield* new BadRequest({
        reason: `file name "${
          file.join("/").slice(0, 40)
        }…" makes a path of ${pathBytes} bytes; paths are limited to ${maxPathBytes} bytes`
      })
    }
    const parent = path.join(derivedDir, name, ...file.slice(0, -1))
    yield* Effect.tryPromise({
      try: () => fs.mkdir(parent, { recursive: true }),
      catch: () => new HttpError({ status: 409, reason: `cannot create the folder for ${rest}: a file is in the way` })
    })
    // symlinks below the derived folder must not lead writes outside it
    const derivedReal = yield* Effect.promise(() => fs.realpath(derivedDir))
    const parentReal = yield* resolveInside(derivedReal, [path.relative(derivedDir, parent)], rest)
    if (!parentReal.stats.isDirectory()) {
      return yield* new HttpError({ status: 409, reason: `cannot store ${rest}: a file is in the way` })
    }
    const target = path.join(parentReal.real, file[file.length - 1]!)
    const temp = path.join(parentReal.real, `.fedkit-upload-${randomUUID()}`)
    yield* withTransferSlot(
      ex,
      Effect.tryPromise({
        try: async (signal) => {
          await pipeline(ex.req, limitBytes(maxUploadBytes), createWriteStream(temp, { flags: "wx" }), { signal })
          // fsync before the rename, so a crash cannot leave a renamed but empty file
          const handle = await fs.open(temp, "r+")
          await handle.sync().finally(() => handle.close())
        },
        catch: (cause) =>
          cause instanceof UploadTooLarge
            ? tooLarge(maxUploadBytes)
            : new ResponseCut({ reason: `upload interrupted: ${String(cause)}` })
      }).pipe(
        Effect.zipRight(Effect.tryPromise({
          try: () => fs.rename(temp, target),
          catch: () => new HttpError({ status: 409, reason: `cannot store ${rest}: a folder is in the way` })
        })),
        Effect.onError(() => Effect.promise(() => fs.rm(temp, { force: true })))
      )
    )
    const size = (yield* Effect.promise(() => fs.stat(target))).size
    ex.received = size
    const rel = path.relative(rootReal, target)
    const key = isInside(rootReal, target) ? `s3://${rel.split(path.sep).join("/")}` : undefined
    return yield* sendJson(ex, 201, { name, file: file.join("/"), bytes: size, ...(key === undefined ? {} : { key }) })
  })

const route = (ex: Exchange) =>
  Effect.gen(function*() {
    const target = yield* parseTarget(ex.req.url ?? "/")
    switch (target.endpoint) {
      case "datasets":
      case "policies":
        return yield* read(ex, target.endpoint, target.rest, target.query)
      case "dataset":
        return yield* receiveDerived(ex, target.rest)
      case "other":
        return yield* new HttpError({
          status: 404,
          reason: `no such endpoint ${target.rawPath}: use datasets/{key}, policies/{key} or PUT dataset/{name}/{file}`
        })
    }
  })

const errorResponse = (ex: Exchange, error: HttpError | BadRequest | NotFound | DiskError) =>
  Effect.gen(function*() {
    if (ex.res.headersSent) {
      ex.res.destroy()
      return
    }
    switch (error._tag) {
      case "HttpError":
        return yield* sendJson(ex, error.status, { error: error.reason }, error.headers)
      case "BadRequest":
        return yield* sendJson(ex, 400, { error: error.reason })
      case "NotFound":
        return yield* sendJson(ex, 404, { error: error.reason })
      case "DiskError":
        yield* Effect.logError("disk error").pipe(Effect.annotateLogs({ path: error.path, cause: String(error.cause) }))
        return yield* sendJson(ex, 500, { error: "internal error reading the data folder" })
    }
  })

/** Every announced byte was handed to the connection and no fault cut it (the client may close first). */
const isComplete = (ex: Exchange): boolean =>
  ex.fault !== "ResetMidBody" && ex.fault !== "TruncateBody" &&
  (ex.res.writableFinished || (ex.announced !== undefined && ex.sent === ex.announced))

/** Handles one request; never fails. Logs exactly one entry when the exchange ends, however it ends. */
export const handle = (config: HandlerConfig, req: IncomingMessage, res: ServerResponse) => {
  const incomingId = req.headers["x-request-id"]
  const ex: Exchange = {
    id: typeof incomingId === "string" && /^[\w.-]{1,64}$/.test(incomingId) ? incomingId : randomUUID(),
    req,
    res,
    config,
    sent: 0
  }
  const started = performance.now()
  const log = Effect.suspend(() => {
    const cursor = parseTarget(req.url ?? "/").pipe(Either.map((t) => t.query.get("cursor")), Either.getOrNull)
    const entry: RequestLogEntry = {
      id: ex.id,
      time: new Date().toISOString(),
      method: req.method ?? "",
      path: (req.url ?? "").split("?")[0] ?? "",
      ...(ex.key === undefined ? {} : { key: ex.key }),
      status: res.statusCode,
      bytes: ex.received ?? ex.sent,
      durationMillis: Math.round((performance.now() - started) * 10) / 10,
      ...(req.headers.range === undefined ? {} : { range: req.headers.range }),
      ...(typeof req.headers["if-range"] === "string" ? { ifRange: req.headers["if-range"] } : {}),
      ...(cursor === null ? {} : { cursor }),
      ...(ex.grant === undefined ? {} : { grant: ex.grant }),
      ...(ex.fault === undefined ? {} : { fault: ex.fault }),
      outcome: isComplete(ex) ? "complete" : "aborted"
    }
    return config.record(entry).pipe(
      Effect.zipRight(Effect.logInfo("request").pipe(Effect.annotateLogs({ ...entry }))),
      Effect.ensuring(Effect.suspend(() => {
        if (ex.settled === undefined) return Effect.void
        config.settling.delete(ex.settled)
        return Deferred.done(ex.settled, Exit.void)
      }))
    )
  })
  const answer = config.latencyMillis > 0 ? Effect.zipRight(Effect.sleep(config.latencyMillis), route(ex)) : route(ex)
  return answer.pipe(
    Effect.catchTags({
      HttpError: (e) => errorResponse(ex, e),
      BadRequest: (e) => errorResponse(ex, e),
      NotFound: (e) => errorResponse(ex, e),
      DiskError: (e) => errorResponse(ex, e)
    }),
    Effect.catchTag("ResponseCut", () => Effect.sync(() => res.destroy())),
    Effect.ensuring(log)
  )
}
