/**
 * A keep-alive `node:http` Agent whose sockets all read into one 64 KiB buffer, reused for every read, instead of a
 * fresh buffer per read (Node's default) or fresh regions of 1 MiB slabs (this module before).
 *
 * Reusing it is safe because Node's HTTP parser never keeps the bytes it is given: it copies each body chunk into a
 * buffer of its own (`Buffer::Copy` in `on_body`) and header text into strings before `execute` returns, so a paused
 * response holds copies (a test pauses one response while another fills the buffer). Fresh memory per read cost page
 * faults, and reads of up to 1 MiB made the parser's copies 1 MiB each: above glibc's threshold for `mmap`, so each
 * was fresh memory again. With 64 KiB reads both stay in reused memory and in the CPU's cache until written: a GiB
 * from a local DAL took 1.0-1.1 s of client CPU against 1.6-2.3 s (same minutes, loaded machine).
 */
import * as NodeHttp from "node:http"
import * as Net from "node:net"

// The most libuv reads by default, and below glibc's default mmap threshold (128 KiB) for the parser's copies.
const readBytes = 64 * 1024

let shared: Buffer | undefined

class ReadBufferAgent extends NodeHttp.Agent {
  override createConnection(options: Net.NetConnectOpts, _callback?: unknown): Net.Socket {
    const socket: Net.Socket = Net.createConnection({
      ...options,
      onread: {
        // one per process, made on first use: reads run one at a time on the event loop, each consumed before the next
        buffer: () => (shared ??= Buffer.allocUnsafeSlow(readBytes)),
        callback: (bytes: number, buffer: Uint8Array) => {
          // the HTTP client listens for 'data' as it would on a socket without `onread`
          socket.emit("data", (buffer as Buffer).subarray(0, bytes))
          // pausing is left to `socket.pause()`, which stops reads in this mode too
          return true
        }
      }
    })
    return socket
  }
}

export const make = (options: NodeHttp.AgentOptions): NodeHttp.Agent => new ReadBufferAgent(options)
