/** Writing responses: JSON, and file bodies of any size in constant memory, with body faults at exact bytes. */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { createReadStream } from "node:fs"
import type { ServerResponse } from "node:http"
import { DiskError } from "./disk.js"
import { type Exchange, jsonHeaders, markSettling, ResponseCut, settleNow } from "./exchange.js"
import type { BodyFault, FaultRequest } from "./faults.js"
import { chunkBytes, sendFile } from "./sendFile.js"

export const sendJson = (ex: Exchange, status: number, value: unknown, headers: Record<string, string> = {}) =>
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

export const fileRange = (real: string, start: number, end: number): FileRange => ({
  real,
  start,
  end,
  length: end - start + 1
})

/**
 * Sends status, headers and a body of known length, applying a body fault when one matches. Files stream with
 * backpressure, so any size uses constant memory.
 */
export const sendBody = (
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
