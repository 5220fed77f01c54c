/**
 * A keep-alive `node:http` Agent whose sockets read into slices of shared 1 MiB slabs instead of a fresh buffer per
 * read. Node's default allocates one buffer per socket read (up to 64 KiB): for a GiB that is tens of thousands of
 * allocations the kernel must fault in and V8 must collect, which measured at about twice curl's CPU per GiB; with
 * slabs the same GiB costs about half that. Each read gets a region no earlier read used, so a chunk handed to the
 * HTTP parser (and possibly kept by a paused response) is never overwritten; a slab is dropped, for the garbage
 * collector, once too little of it is left for a full read.
 */
import * as NodeHttp from "node:http"
import * as Net from "node:net"

const slabBytes = 1024 * 1024
// libuv reads at most this much at once by default; a smaller remainder starts a fresh slab
const minReadBytes = 64 * 1024

let slab = Buffer.allocUnsafeSlow(slabBytes)
let used = 0

const nextRegion = (): Buffer => {
  if (slabBytes - used < minReadBytes) {
    slab = Buffer.allocUnsafeSlow(slabBytes)
    used = 0
  }
  return slab.subarray(used)
}

class SlabAgent extends NodeHttp.Agent {
  override createConnection(options: Net.NetConnectOpts, _callback?: unknown): Net.Socket {
    const socket: Net.Socket = Net.createConnection({
      ...options,
      onread: {
        buffer: nextRegion,
        callback: (bytes: number, region: Uint8Array) => {
          used += bytes
          // the HTTP client listens for 'data' as it would on a socket without `onread`
          socket.emit("data", (region as Buffer).subarray(0, bytes))
          // pausing is left to `socket.pause()`, which stops reads in this mode too
          return true
        }
      }
    })
    return socket
  }
}

export const make = (options: NodeHttp.AgentOptions): NodeHttp.Agent => new SlabAgent(options)
