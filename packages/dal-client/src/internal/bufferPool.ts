/**
 * 1 MiB buffers reused across transfers and files: allocating one per file or per read would have V8 and the kernel
 * (page faults of fresh memory) do work in proportion to the bytes moved. A buffer handed back may hold another
 * file's bytes: users only ever read the range they wrote.
 */
export const bufferBytes = 1024 * 1024

// Enough for 16 concurrent transfers with a write in flight and one filling, each.
const maxIdle = 40
const idle: Array<Buffer> = []

export const take = (): Buffer => idle.pop() ?? Buffer.allocUnsafeSlow(bufferBytes)

export const giveBack = (buffer: Buffer): void => {
  if (idle.length < maxIdle) idle.push(buffer)
}
