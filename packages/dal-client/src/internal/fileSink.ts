/**
 * Body bytes to a file, written as they arrive. Node's HTTP parser hands every body chunk over in a buffer of its
 * own, so a chunk goes to the kernel as it is: copying it first into a large staging buffer cost twice the CPU of
 * the whole download (the chunk is still in the CPU's cache when it is written at once; a staging buffer is not).
 * Only small pieces are gathered, so a body that dribbles does not cost a system call per few bytes.
 *
 * The writes are synchronous, on the event loop, as curl's are: a write into the page cache takes a fraction of a
 * millisecond, and handing each to libuv's thread pool cost more than it saved (two thread hand-offs per write, and a
 * writer thread competing with the kernel's writeback on two cores). The cost is that a stalled disk stalls the
 * whole process, which then applies TCP backpressure to every transfer, as it would anyway.
 */
import * as Fs from "node:fs"

export interface FileSink {
  /**
   * Takes `buffer[start, end)` (all of it, always). Until the file is open the sink holds on to those bytes rather
   * than copying them, so they must not change after the call: a body's chunks never do (Node's parser hands each over
   * in a buffer of its own). Answers false while the file is still being opened and enough has arrived meanwhile:
   * the source should pause until `onReady`.
   */
  readonly write: (buffer: Uint8Array, start: number, end: number) => boolean
  /**
   * Writes whatever is held (also after a broken body, so a resume starts after it) and closes the file. Answers
   * the bytes this sink put on disk, or fails with the first disk error.
   */
  readonly close: () => Promise<number>
}

// Pieces below this size are gathered into one buffer of `gatherBytes` before they are written.
const smallPieceBytes = 16 * 1024
const gatherBytes = 64 * 1024
// What may arrive before the file is open, before the source is asked to pause.
const earlyLimitBytes = 1024 * 1024

/**
 * Opens `path` for writing ("w") or appending ("a"). `modified` (epoch milliseconds), when given, becomes the file's
 * modification time as it is closed. `onReady` is called when a paused source may go on; `onFailed` when the disk
 * refused a write or the open (the source should then stop: nothing more will be written).
 */
// eslint-disable-next-line max-lines-per-function -- one closure holds the sink's state (descriptor, early pieces, gathered bytes, failure)
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
  // what arrived before the open finished (a small body often arrives whole before it does: copying it cost a few
  // percent of a many-file download's CPU)
  let early: Array<Uint8Array> = []
  let earlyBytes = 0
  let blocked = false
  let gather: Buffer | undefined
  let gathered = 0
  let closing: { readonly resolve: (n: number) => void; readonly reject: (e: Error) => void } | undefined

  const fail = (cause: unknown, during: "write" | "open") => {
    if (failure !== undefined) return
    const reported = cause instanceof Error ? cause : new Error(String(cause))
    failure = reported
    early = []
    // a failed write is reported after the read that delivered its bytes: the source is stopped from outside its
    // own callback
    if (during === "open") onFailed(reported)
    else setImmediate(() => onFailed(reported))
  }

  /** Writes `buffer[start, end)` whole (a short write continues where it stopped). */
  const writeOut = (buffer: Uint8Array, start: number, end: number): void => {
    if (fd === undefined || failure !== undefined) return
    try {
      for (let at = start; at < end;) {
        const bytes = Fs.writeSync(fd, buffer, at, end - at)
        if (bytes === 0) return fail(new Error("the file system accepted no bytes"), "write")
        at += bytes
        written += bytes
      }
    } catch (cause) {
      fail(cause, "write")
    }
  }

  const flushGathered = () => {
    if (gathered === 0 || gather === undefined) return
    writeOut(gather, 0, gathered)
    gathered = 0
  }

  const take = (buffer: Uint8Array, start: number, end: number) => {
    if (end - start >= smallPieceBytes) {
      flushGathered()
      return writeOut(buffer, start, end)
    }
    if (gathered + end - start > gatherBytes) flushGathered()
    gather ??= Buffer.allocUnsafe(gatherBytes)
    gather.set(buffer.subarray(start, end), gathered)
    gathered += end - start
  }

  const settle = () => {
    if (closing === undefined || opening) return
    const { reject, resolve } = closing
    closing = undefined
    if (fd === undefined) return failure === undefined ? resolve(written) : reject(failure)
    flushGathered()
    if (modified !== undefined && failure === undefined) {
      // one system call on an open descriptor: cheaper than a thread-pool round trip by path after the close
      try {
        Fs.futimesSync(fd, modified / 1000, modified / 1000)
      } catch (cause) {
        fail(cause, "write")
      }
    }
    const result = failure
    Fs.close(fd, (error) => {
      const cause = result ?? error ?? undefined
      if (cause !== undefined) reject(cause)
      else resolve(written)
    })
  }

  Fs.open(path, openFlags[flags], (error, opened) => {
    opening = false
    if (error !== null) {
      fail(error, "open")
      return settle()
    }
    fd = opened
    for (const piece of early) take(piece, 0, piece.length)
    early = []
    earlyBytes = 0
    if (blocked) {
      blocked = false
      onReady()
    }
    settle()
  })

  return {
    write: (buffer, start, end) => {
      if (failure !== undefined || end <= start) return true
      if (!opening) {
        take(buffer, start, end)
        return true
      }
      early.push(buffer.subarray(start, end))
      earlyBytes += end - start
      blocked = earlyBytes >= earlyLimitBytes
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
