/**
 * Body bytes to a file through large, reused buffers: bytes are copied out of the connection's read buffer into a
 * 1 MiB staging buffer, and a full one is written while the next fills. A GiB is about a thousand writes and no
 * allocation, where a write stream would take a write, a buffer and a pause/resume per 64 KiB.
 *
 * The writes themselves are synchronous, on the event loop, as curl's are: a 1 MiB write into the page cache takes
 * a fraction of a millisecond, and handing each to libuv's thread pool cost more (two thread hand-offs per write,
 * and a writer thread competing with the kernel's writeback on two cores) than it saved: measured, a GiB went from
 * 0.6-0.7x curl's rate to parity. The cost is that a stalled disk stalls the whole process, which then applies TCP
 * backpressure to every transfer, as it would anyway.
 */
import * as Fs from "node:fs"
import { bufferBytes as stageBytes, giveBack, take as takeBuffer } from "./bufferPool.js"

export interface FileSink {
  /**
   * Copies `buffer[start, end)` in (all of it, always). Answers false when a full buffer is already waiting behind
   * the write in progress: the source should pause until `onReady`.
   */
  readonly write: (buffer: Uint8Array, start: number, end: number) => boolean
  /**
   * Writes whatever is staged (also after a broken body, so a resume starts after it) and closes the file. Answers
   * the bytes this sink put on disk, or fails with the first disk error.
   */
  readonly close: () => Promise<number>
}

interface Staged {
  readonly buffer: Buffer
  used: number
}

/**
 * Opens `path` for writing ("w") or appending ("a"). `modified` (epoch milliseconds), when given, becomes the file's
 * modification time as it is closed. `onReady` is called when a paused source may go on; `onFailed` when the disk
 * refused a write or the open (the source should then stop: nothing more will be written).
 */
export const open = (
  path: string,
  flags: "a" | "w",
  modified: number | undefined,
  onReady: () => void,
  onFailed: (cause: Error) => void
): FileSink => {
  let fd: number | undefined
  let opening = true
  let failure: Error | undefined
  let filling: Staged | undefined
  const queue: Array<Staged> = []
  let writing = false
  let written = 0
  let blocked = false
  let closing: { readonly resolve: (n: number) => void; readonly reject: (e: Error) => void } | undefined

  const fail = (cause: Error) => {
    if (failure !== undefined) return
    failure = cause
    for (const staged of queue.splice(0)) giveBack(staged.buffer)
    onFailed(cause)
  }

  const settle = () => {
    if (closing === undefined || opening || writing || (queue.length > 0 && failure === undefined)) return
    const { reject, resolve } = closing
    closing = undefined
    if (fd === undefined) return failure === undefined ? resolve(written) : reject(failure)
    if (modified !== undefined && failure === undefined) {
      // one syscall on an open descriptor: cheaper than a thread-pool round trip by path after the close
      try {
        Fs.futimesSync(fd, modified / 1000, modified / 1000)
      } catch (cause) {
        failure = cause instanceof Error ? cause : new Error(String(cause))
      }
    }
    Fs.close(fd, (error) => {
      const cause = failure ?? error ?? undefined
      if (cause !== undefined) reject(cause)
      else resolve(written)
    })
  }

  /** Starts the next write when none is running, and lets a paused source go on once at most one buffer waits. */
  const pump = (): void => {
    if (failure !== undefined) return settle()
    const next = queue[0]
    if (!writing && fd !== undefined && next !== undefined) {
      writing = true
      writeAll(fd, next, 0, (error) => {
        writing = false
        if (error !== null) return fail(error)
        queue.shift()
        written += next.used
        giveBack(next.buffer)
        pump()
      })
    }
    if (blocked && queue.length <= 1) {
      blocked = false
      onReady()
    }
    settle()
  }

  Fs.open(path, openFlags[flags], (error, opened) => {
    opening = false
    if (error !== null) {
      fail(error)
      return settle()
    }
    fd = opened
    pump()
  })

  return {
    write: (buffer, start, end) => {
      if (failure !== undefined) return true
      let at = start
      while (at < end) {
        filling ??= { buffer: takeBuffer(), used: 0 }
        const take = Math.min(end - at, stageBytes - filling.used)
        filling.buffer.set(buffer.subarray(at, at + take), filling.used)
        filling.used += take
        at += take
        if (filling.used === stageBytes) {
          queue.push(filling)
          filling = undefined
        }
      }
      // the queue holds the buffer being written, if any: one more waiting behind it is enough
      blocked = queue.length > 1
      pump()
      return !blocked
    },
    close: () =>
      new Promise<number>((resolve, reject) => {
        if (filling !== undefined && filling.used > 0 && failure === undefined) queue.push(filling)
        else if (filling !== undefined) giveBack(filling.buffer)
        filling = undefined
        closing = { resolve, reject }
        pump()
      })
  }
}

/**
 * Never through a symlink: one planted at the path after it was checked (or in a folder read as empty) makes the
 * open fail with ELOOP instead of writing wherever it points.
 */
const openFlags = {
  w: Fs.constants.O_WRONLY | Fs.constants.O_CREAT | Fs.constants.O_TRUNC | Fs.constants.O_NOFOLLOW,
  a: Fs.constants.O_WRONLY | Fs.constants.O_CREAT | Fs.constants.O_APPEND | Fs.constants.O_NOFOLLOW
} as const

/**
 * Writes a staged buffer whole (a short write continues where it stopped), then reports on the next turn of the
 * event loop, so the socket read that filled the buffer finishes first.
 */
const writeAll = (fd: number, staged: Staged, from: number, done: (error: Error | null) => void): void => {
  try {
    for (let at = from; at < staged.used;) {
      const bytes = Fs.writeSync(fd, staged.buffer, at, staged.used - at)
      if (bytes === 0) return void setImmediate(() => done(new Error("the file system accepted no bytes")))
      at += bytes
    }
  } catch (cause) {
    return void setImmediate(() => done(cause instanceof Error ? cause : new Error(String(cause))))
  }
  setImmediate(() => done(null))
}
