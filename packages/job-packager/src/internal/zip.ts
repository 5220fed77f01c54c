/**
 * A minimal ZIP writer and reader, written here so that every byte of a package is under our control.
 *
 * The writer stores entries uncompressed: deflate output depends on the zlib build (Node bundles Chromium's fork,
 * whose match finder differs by CPU and version), so only STORED entries give the same bytes on every machine. Job
 * packages are configs and code, small enough not to need compression. Every field that could vary is fixed:
 * 1980-01-01 00:00 timestamps, Unix "version made by", modes 0644/0755, no extra fields, no data descriptors.
 *
 * The reader accepts STORED and DEFLATE entries (zips made by other tools), checks sizes and CRCs, and refuses what a
 * job archive never needs: encryption, ZIP64, multi-disk archives, symbolic links.
 */
import * as Schema from "effect/Schema"
import { inflateRawSync } from "node:zlib"

const LOCAL_HEADER = 0x04034b50
const CENTRAL_HEADER = 0x02014b50
const END_OF_CENTRAL_DIRECTORY = 0x06054b50
const VERSION = 20
const VERSION_MADE_BY_UNIX = (3 << 8) | VERSION
const FLAG_UTF8 = 0x0800
const FLAG_ENCRYPTED = 0x0001
// MS-DOS date for 1980-01-01 (day 1, month 1, year 0 = 1980), time 00:00:00: the earliest a ZIP can say.
const DOS_TIME = 0
const DOS_DATE = (1 << 5) | 1
const FILE_MODE = 0o100644
const DIRECTORY_MODE = 0o040755
const MODE_TYPE_MASK = 0o170000
const MODE_SYMLINK = 0o120000
const MS_DOS_DIRECTORY = 0x10

/** One entry: a directory when `data` is absent (its name ends with `/`). */
export interface Entry {
  readonly name: string
  readonly data?: Uint8Array
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

export const crc32 = (data: Uint8Array): number => {
  let crc = 0xffffffff
  for (let i = 0; i < data.length; i++) crc = (CRC_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8)) >>> 0
  return (crc ^ 0xffffffff) >>> 0
}

const encoder = new TextEncoder()

/**
 * Writes the entries in the order given. Callers sort them; equal input gives identical bytes. Package limits
 * (10,000 files, 1 GiB) keep every archive within a 32-bit ZIP, so there is no ZIP64 support.
 */
export const write = (entries: ReadonlyArray<Entry>): Uint8Array => {
  const names = entries.map((entry) => encoder.encode(entry.name))
  const size = entries.reduce((sum, entry, i) => sum + 30 + 46 + 2 * names[i]!.length + (entry.data?.length ?? 0), 22)
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  let offset = 0
  const u16 = (value: number) => {
    view.setUint16(offset, value, true)
    offset += 2
  }
  const u32 = (value: number) => {
    view.setUint32(offset, value >>> 0, true)
    offset += 4
  }
  const bytes = (value: Uint8Array) => {
    out.set(value, offset)
    offset += value.length
  }
  const locals: Array<{ readonly offset: number; readonly crc: number; readonly size: number }> = []
  entries.forEach((entry, i) => {
    const data = entry.data ?? new Uint8Array(0)
    const crc = crc32(data)
    locals.push({ offset, crc, size: data.length })
    u32(LOCAL_HEADER)
    u16(VERSION)
    u16(FLAG_UTF8)
    u16(0) // stored
    u16(DOS_TIME)
    u16(DOS_DATE)
    u32(crc)
    u32(data.length)
    u32(data.length)
    u16(names[i]!.length)
    u16(0) // no extra field
    bytes(names[i]!)
    bytes(data)
  })
  const centralStart = offset
  entries.forEach((entry, i) => {
    const local = locals[i]!
    const isDirectory = entry.data === undefined
    u32(CENTRAL_HEADER)
    u16(VERSION_MADE_BY_UNIX)
    u16(VERSION)
    u16(FLAG_UTF8)
    u16(0)
    u16(DOS_TIME)
    u16(DOS_DATE)
    u32(local.crc)
    u32(local.size)
    u32(local.size)
    u16(names[i]!.length)
    u16(0) // extra
    u16(0) // comment
    u16(0) // disk
    u16(0) // internal attributes
    u32(((isDirectory ? DIRECTORY_MODE : FILE_MODE) << 16) | (isDirectory ? MS_DOS_DIRECTORY : 0))
    u32(local.offset)
    bytes(names[i]!)
  })
  const centralSize = offset - centralStart
  u32(END_OF_CENTRAL_DIRECTORY)
  u16(0)
  u16(0)
  u16(entries.length)
  u16(entries.length)
  u32(centralSize)
  u32(centralStart)
  u16(0) // comment
  return out
}

/** A ZIP the reader refuses, with the reason. */
export class ZipError extends Schema.TaggedError<ZipError>()("ZipError", { reason: Schema.String }) {}

export interface ReadLimits {
  /** Largest total of uncompressed bytes accepted: a guard against ZIP bombs. */
  readonly maxTotalBytes: number
  readonly maxEntries: number
}

const decoder = new TextDecoder("utf-8", { fatal: true })

/** Reads every entry (directories have no data). Fails with the first problem found. */
/* eslint-disable max-lines-per-function -- one pass in which each check relies on the offsets the checks before it validated */
export const read = (zip: Uint8Array, limits: ReadLimits): Array<Entry> | ZipError => {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength)
  const u16 = (at: number) => view.getUint16(at, true)
  const u32 = (at: number) => view.getUint32(at, true)
  if (zip.length < 22) return new ZipError({ reason: "too short to be a ZIP archive" })
  let end = -1
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 0xffff); at--) {
    if (u32(at) === END_OF_CENTRAL_DIRECTORY && at + 22 + u16(at + 20) === zip.length) {
      end = at
      break
    }
  }
  if (end < 0) return new ZipError({ reason: "no end-of-central-directory record: not a ZIP archive, or truncated" })
  const count = u16(end + 10)
  const centralSize = u32(end + 12)
  const centralStart = u32(end + 16)
  if (u16(end + 4) !== 0 || u16(end + 6) !== 0 || u16(end + 8) !== count) {
    return new ZipError({ reason: "multi-disk archives are not supported" })
  }
  if (count === 0xffff || centralSize === 0xffffffff || centralStart === 0xffffffff) {
    return new ZipError({ reason: "ZIP64 archives are not supported" })
  }
  if (count > limits.maxEntries) return new ZipError({ reason: `more than ${limits.maxEntries} entries` })
  if (centralStart + centralSize > end) {
    return new ZipError({ reason: "the central directory lies outside the archive" })
  }
  const entries: Array<Entry> = []
  let total = 0
  let at = centralStart
  for (let i = 0; i < count; i++) {
    if (at + 46 > end || u32(at) !== CENTRAL_HEADER) {
      return new ZipError({ reason: `central directory entry ${i} is corrupt` })
    }
    const flags = u16(at + 8)
    const method = u16(at + 10)
    const crc = u32(at + 16)
    const compressedSize = u32(at + 20)
    const size = u32(at + 24)
    const nameLength = u16(at + 28)
    const next = at + 46 + nameLength + u16(at + 30) + u16(at + 32)
    const external = u32(at + 38)
    const localOffset = u32(at + 42)
    if (next > end) return new ZipError({ reason: `central directory entry ${i} is corrupt` })
    const rawName = zip.subarray(at + 46, at + 46 + nameLength)
    let name: string
    try {
      name = decoder.decode(rawName)
    } catch {
      return new ZipError({ reason: `entry ${i} has a name that is not valid UTF-8` })
    }
    if ((flags & FLAG_UTF8) === 0 && rawName.some((byte) => byte > 0x7f)) {
      return new ZipError({ reason: `entry ${JSON.stringify(name)} has a non-ASCII name without the UTF-8 flag` })
    }
    if (flags & FLAG_ENCRYPTED) return new ZipError({ reason: `entry ${JSON.stringify(name)} is encrypted` })
    if (((external >>> 16) & MODE_TYPE_MASK) === MODE_SYMLINK) {
      return new ZipError({ reason: `entry ${JSON.stringify(name)} is a symbolic link` })
    }
    if (method !== 0 && method !== 8) {
      return new ZipError({
        reason: `entry ${JSON.stringify(name)} uses compression method ${method}; only stored and deflate`
      })
    }
    total += size
    if (total > limits.maxTotalBytes) {
      return new ZipError({ reason: `the entries would unpack to more than ${limits.maxTotalBytes} bytes` })
    }
    if (localOffset + 30 > centralStart || u32(localOffset) !== LOCAL_HEADER) {
      return new ZipError({ reason: `entry ${JSON.stringify(name)} has no local header where the directory says` })
    }
    const localNameLength = u16(localOffset + 26)
    const localName = zip.subarray(localOffset + 30, localOffset + 30 + localNameLength)
    if (Buffer.compare(localName, rawName) !== 0) {
      return new ZipError({ reason: `entry ${JSON.stringify(name)} has a different name in its local header` })
    }
    const dataStart = localOffset + 30 + localNameLength + u16(localOffset + 28)
    if (dataStart + compressedSize > centralStart) {
      return new ZipError({ reason: `entry ${JSON.stringify(name)} extends past the file data` })
    }
    const raw = zip.subarray(dataStart, dataStart + compressedSize)
    if (name.endsWith("/")) {
      if (size !== 0) return new ZipError({ reason: `directory entry ${JSON.stringify(name)} has content` })
      entries.push({ name })
    } else {
      let data: Uint8Array
      if (method === 0) {
        if (compressedSize !== size) {
          return new ZipError({ reason: `stored entry ${JSON.stringify(name)} has inconsistent sizes` })
        }
        data = raw
      } else {
        try {
          data = inflateRawSync(raw, { maxOutputLength: Math.max(1, size) })
        } catch {
          return new ZipError({ reason: `entry ${JSON.stringify(name)} does not inflate to its declared size` })
        }
      }
      if (data.length !== size || crc32(data) !== crc) {
        return new ZipError({ reason: `entry ${JSON.stringify(name)} fails its size or CRC check` })
      }
      entries.push({ name, data: Uint8Array.from(data) })
    }
    at = next
  }
  return entries
}
/* eslint-enable max-lines-per-function */
