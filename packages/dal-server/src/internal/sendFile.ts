import * as fs from "node:fs"
import type { ServerResponse } from "node:http"

/** Size of one read; four reads per MiB would cost four times the system calls and callbacks. */
export const chunkBytes = 1024 * 1024

/**
 * Read buffers are reused across requests: a fresh buffer per read makes V8 collect garbage in proportion to the
 * bytes served, which cost more CPU than the copies themselves. The pool keeps at most this many idle buffers.
 */
const maxIdleBuffers = 32
const idle: Array<Buffer> = []
let lent = 0
const takeBuffer = (): Buffer => {
  lent += 1
  return idle.pop() ?? Buffer.allocUnsafeSlow(chunkBytes)
}
const giveBack = (buffer: Buffer): void => {
  lent -= 1
  if (idle.length < maxIdleBuffers) idle.push(buffer)
}

/** Read buffers held by transfers in progress (not the idle pool): what slow clients cost. */
export const buffersLent = (): number => lent

/**
 * Two buffers per transfer at most: one being written to the socket while the next is read from disk. The second is
 * taken only while the socket keeps up: a client that stops reading holds one buffer, not two.
 */
const buffersPerTransfer = 2

export type SendFileEnd =
  | { readonly _tag: "Sent" }
  /** The file ended before `length` bytes (it shrank while being sent). */
  | { readonly _tag: "Short" }
  | { readonly _tag: "ReadFailed"; readonly cause: Error }
  | { readonly _tag: "Closed" }

export interface SendFileOptions {
  readonly path: string
  readonly start: number
  readonly length: number
  /** Called with each chunk's size just before it is written, so the caller can count and settle. */
  readonly onChunk: (bytes: number) => void
}

/**
 * Streams `length` bytes of a file from `start` into a response whose headers are set. Memory stays at two buffers
 * whatever the size; a chunk goes out only as a view of the bytes actually read, so no stale bytes of an earlier
 * transfer can leak from a reused buffer. Returns a function that stops the transfer and closes the file.
 */
export const sendFile = (res: ServerResponse, options: SendFileOptions, done: (end: SendFileEnd) => void) => {
  let fd: number | undefined
  let position = options.start
  let remaining = options.length
  let reading = false
  let writing = 0
  let finished = false
  const free: Array<Buffer> = []
  const owned: Array<Buffer> = []

  const own = () => {
    const buffer = takeBuffer()
    owned.push(buffer)
    return buffer
  }
  const releaseBuffers = () => {
    for (const buffer of owned) giveBack(buffer)
  }
  const finish = (end: SendFileEnd) => {
    if (finished) return
    finished = true
    res.off("close", onClose)
    if (fd !== undefined) fs.close(fd, () => {})
    // buffers still held by the socket's write queue go back when their write completes
    if (writing === 0) releaseBuffers()
    done(end)
  }
  const onClose = () => finish({ _tag: "Closed" })

  const pump = () => {
    if (finished || reading || fd === undefined) return
    if (remaining === 0) {
      if (writing === 0) finish({ _tag: "Sent" })
      return
    }
    // read ahead only when the socket took everything written so far; a stalled client waits for its write,
    // holding only the buffer in the socket's queue
    if (writing > 0 && res.writableLength > 0) return
    const buffer = free.pop() ?? (owned.length < buffersPerTransfer ? own() : undefined)
    if (buffer === undefined) return
    reading = true
    fs.read(fd, buffer, 0, Math.min(chunkBytes, remaining), position, (error, bytesRead) => {
      reading = false
      if (finished) return
      if (error !== null) return finish({ _tag: "ReadFailed", cause: error })
      if (bytesRead === 0) return finish({ _tag: "Short" })
      position += bytesRead
      remaining -= bytesRead
      options.onChunk(bytesRead)
      writing += 1
      res.write(buffer.subarray(0, bytesRead), () => {
        writing -= 1
        if (finished) {
          if (writing === 0) releaseBuffers()
          return
        }
        free.push(buffer)
        pump()
      })
      pump()
    })
  }

  res.on("close", onClose)
  fs.open(options.path, "r", (error, opened) => {
    if (error !== null) return finish({ _tag: "ReadFailed", cause: error })
    if (finished) return void fs.close(opened, () => {})
    fd = opened
    pump()
  })
  return () => finish({ _tag: "Closed" })
}
