/**
 * Body bytes to a file, written as they arrive, without copying them. Node's HTTP parser hands every body chunk over
 * in a buffer of its own; chunks are queued as they are and written by `writev` on libuv's thread pool, one write in
 * flight at a time, so the event loop receives and parses while the previous chunks go to the kernel, and whatever
 * arrived meanwhile goes in the next write (one thread hand-off per batch, not per chunk). Copying chunks into a
 * staging buffer instead cost twice the CPU of the whole download.
 *
 * Backpressure: past `highWaterBytes` queued (also while the file is being opened) `write` answers false and the
 * source should pause until `onReady`.
 */
import * as Fs from "node:fs"

export interface FileSink {
  /**
   * Takes `buffer[start, end)` (all of it, always). The sink holds on to those bytes until they are written rather
   * than copying them, so they must not change after the call: a body's chunks never do (Node's parser hands each over
   * in a buffer of its own). Answers false when enough is queued: the source should pause until `onReady`.
   */
  readonly write: (buffer: Uint8Array, start: number, end: number) => boolean
  /**
   * Writes whatever is held (also after a broken body, so a resume starts after it) and closes the file. Answers
   * the bytes this sink put on disk, or fails with the first disk error.
   */
  readonly close: () => Promise<number>
}

// Queued bytes past which the source is asked to pause, and below which it may go on.
const highWaterBytes = 4 * 1024 * 1024
const lowWaterBytes = 1024 * 1024
// The most buffers one writev takes (Linux's IOV_MAX).
const maxBatch = 1024

/**
 * Opens `path` for writing ("w") or appending ("a"). `modified` (epoch milliseconds), when given, becomes the file's
 * modification time as it is closed. `onReady` is called when a paused source may go on; `onFailed` when the disk
 * refused a write or the open (the source should then stop: nothing more will be written).
 */
// eslint-disable-next-line max-lines-per-function -- one closure holds the sink's state (descriptor, queue, write in flight, failure)
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
  let written = 0
  let queue: Array<Uint8Array> = []
  let queuedBytes = 0
  let writing = false
  let blocked = false
  let closing: { readonly resolve: (n: number) => void; readonly reject: (e: Error) => void } | undefined

  const fail = (cause: unknown) => {
    if (failure !== undefined) return
    failure = cause instanceof Error ? cause : new Error(String(cause))
    queue = []
    queuedBytes = 0
    onFailed(failure)
  }

  const settle = () => {
    if (closing === undefined || opening || writing || (failure === undefined && queuedBytes > 0)) return
    const { reject, resolve } = closing
    closing = undefined
    if (fd === undefined) return failure === undefined ? resolve(written) : reject(failure)
    if (modified !== undefined && failure === undefined) {
      // one system call on an open descriptor: cheaper than a thread-pool round trip by path after the close
      try {
        Fs.futimesSync(fd, modified / 1000, modified / 1000)
      } catch (cause) {
        fail(cause)
      }
    }
    const result = failure
    Fs.close(fd, (error) => {
      const cause = result ?? error ?? undefined
      if (cause !== undefined) reject(cause)
      else resolve(written)
    })
  }

  /** Requeues what a short write left of `batch`, after its first `done` bytes. */
  const requeueRest = (batch: Array<Uint8Array>, done: number) => {
    const rest: Array<Uint8Array> = []
    let skip = done
    for (const piece of batch) {
      if (skip >= piece.length) skip -= piece.length
      else {
        rest.push(skip > 0 ? piece.subarray(skip) : piece)
        skip = 0
      }
    }
    queue = rest.concat(queue)
  }

  const pump = (): void => {
    if (fd === undefined || writing || failure !== undefined) return
    if (blocked && queuedBytes < lowWaterBytes) {
      blocked = false
      onReady()
    }
    if (queue.length === 0) return settle()
    const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch)
    queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch)
    let bytes = 0
    for (const piece of batch) bytes += piece.length
    writing = true
    Fs.writev(fd, batch, (error, done) => {
      writing = false
      if (error !== null || done === 0) {
        fail(error ?? new Error("the file system accepted no bytes"))
        return settle()
      }
      written += done
      queuedBytes -= done
      if (done < bytes) requeueRest(batch, done)
      pump()
    })
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
      if (failure !== undefined || end <= start) return true
      queue.push(buffer.subarray(start, end))
      queuedBytes += end - start
      pump()
      blocked = blocked || queuedBytes >= highWaterBytes
      return !blocked
    },
    close: () =>
      new Promise<number>((resolve, reject) => {
        closing = { resolve, reject }
        settle()
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
