/**
 * A sorted set of keys that fits millions in little memory. Keys as JS strings in an array and a Map, with an entry
 * object each (the earlier design), took about 275 MiB of heap per million; here keys are UTF-8 bytes, front-coded
 * (each key stores only the bytes that differ from the one before it, after a count of shared bytes) in 4 MiB chunks,
 * with a full key every 16 keys (a restart point) for binary search. Sorted keys share long prefixes, so a key costs
 * a few bytes.
 *
 * Keys may be added in any order: each maximal ascending run is kept as it came, and `finish` merges runs pairwise
 * until one is left (a natural merge sort over the encoded bytes: a listing that arrives sorted costs no pass), and
 * drops duplicates. Order is by UTF-8 bytes (as S3 lists), which is also code point order.
 */

const chunkBytes = 4 * 1024 * 1024
const restartEvery = 16
/** Room for any key a listing may hold (keyArray.ts caps a raw key at 64 KiB; UTF-8 of it is no longer). */
const scratchBytes = 256 * 1024

/** A growable array of numbers (positions and counts beyond 2^32 stay exact). */
class Numbers {
  values = new Float64Array(64)
  length = 0
  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2)
      grown.set(this.values)
      this.values = grown
    }
    this.values[this.length++] = value
  }
  at(index: number): number {
    return this.values[index]!
  }
}

/** Compares `a[0, aLength)` with `b[0, bLength)` byte-wise: negative, zero or positive. */
const compare = (a: Buffer, aLength: number, b: Buffer, bLength: number): number => a.compare(b, 0, bLength, 0, aLength)

/** Encoded keys: records `varint shared, varint suffix length, suffix` in chunks; a position is chunk × 4 MiB + offset. */
class Writer {
  readonly chunks: Array<Buffer> = []
  readonly used: Array<number> = []
  /** The position of every restart point. */
  readonly restartAt = new Numbers()
  readonly last = Buffer.allocUnsafe(scratchBytes)
  lastLength = 0
  count = 0
  private sinceRestart = restartEvery

  private writeVarint(chunk: Buffer, at: number, value: number): number {
    while (value >= 0x80) {
      chunk[at++] = (value & 0x7f) | 0x80
      value >>>= 7
    }
    chunk[at++] = value
    return at
  }

  /** Appends `key[0, length)`; `restart` forces a full key (a run's start). Answers the record's position. */
  append(key: Buffer, length: number, restart: boolean): number {
    let chunkIndex = this.chunks.length - 1
    let at = chunkIndex < 0 ? chunkBytes : this.used[chunkIndex]!
    let full = restart || this.sinceRestart >= restartEvery
    if (at + length + 10 > chunkBytes) {
      this.chunks.push(Buffer.allocUnsafe(chunkBytes))
      this.used.push(0)
      chunkIndex++
      at = 0
      full = true
    }
    let shared = 0
    if (!full) {
      const most = Math.min(length, this.lastLength)
      while (shared < most && key[shared] === this.last[shared]) shared++
    }
    const position = chunkIndex * chunkBytes + at
    if (full) {
      this.restartAt.push(position)
      this.sinceRestart = 0
    }
    const chunk = this.chunks[chunkIndex]!
    at = this.writeVarint(chunk, at, shared)
    at = this.writeVarint(chunk, at, length - shared)
    at += key.copy(chunk, at, shared, length)
    this.used[chunkIndex] = at
    key.copy(this.last, shared, shared, length)
    this.lastLength = length
    this.count++
    this.sinceRestart++
    return position
  }

  /** Where the next record would start, were it in the current chunk: an end bound for readers. */
  get end(): number {
    const last = this.chunks.length - 1
    return last < 0 ? 0 : last * chunkBytes + this.used[last]!
  }
}

/** Decodes the records of a writer from one position to another, one key at a time into `key`. */
class Reader {
  readonly key = Buffer.allocUnsafe(scratchBytes)
  length = 0
  private source!: Writer
  private chunkIndex = 0
  private at = 0
  private to = 0

  /** Reads `source` from position `from` up to (not including) position `to`. */
  reset(source: Writer, from: number, to: number): this {
    this.source = source
    this.chunkIndex = Math.floor(from / chunkBytes)
    this.at = from % chunkBytes
    this.to = to
    this.length = 0
    return this
  }

  private varint(chunk: Buffer): number {
    let value = 0
    let shift = 0
    for (;;) {
      const byte = chunk[this.at++]!
      value += (byte & 0x7f) * 2 ** shift
      if (byte < 0x80) return value
      shift += 7
    }
  }

  next(): boolean {
    if (this.chunkIndex < this.source.chunks.length && this.at >= this.source.used[this.chunkIndex]!) {
      this.chunkIndex++
      this.at = 0
    }
    if (this.chunkIndex * chunkBytes + this.at >= this.to || this.chunkIndex >= this.source.chunks.length) return false
    const chunk = this.source.chunks[this.chunkIndex]!
    const shared = this.varint(chunk)
    const rest = this.varint(chunk)
    chunk.copy(this.key, shared, this.at, this.at + rest)
    this.at += rest
    this.length = shared + rest
    return true
  }
}

/** Keys in sorted order, without duplicates. */
export interface KeyList {
  readonly size: number
  /** A fresh pass over the keys in order: `next()` answers the next key, or undefined at the end. */
  readonly cursor: () => { readonly next: () => string | undefined }
  readonly has: (key: string) => boolean
  /** Whether some key starts with `prefix`. */
  readonly hasPrefix: (prefix: string) => boolean
}

const listOf = (writer: Writer): KeyList => {
  const probe = Buffer.allocUnsafe(scratchBytes)
  const reader = new Reader()
  /** Positions `reader` on the first key not below `probe[0, length)`; false when there is none. */
  const seek = (length: number): boolean => {
    // The last restart point whose key is not above the probe.
    let low = 0
    let high = writer.restartAt.length - 1
    let from = 0
    while (low <= high) {
      const middle = (low + high) >>> 1
      reader.reset(writer, writer.restartAt.at(middle), writer.end).next()
      if (compare(reader.key, reader.length, probe, length) <= 0) {
        from = writer.restartAt.at(middle)
        low = middle + 1
      } else {
        high = middle - 1
      }
    }
    reader.reset(writer, from, writer.end)
    while (reader.next()) {
      if (compare(reader.key, reader.length, probe, length) >= 0) return true
    }
    return false
  }
  return {
    size: writer.count,
    cursor: () => {
      const pass = new Reader().reset(writer, 0, writer.end)
      return { next: () => (pass.next() ? pass.key.toString("utf8", 0, pass.length) : undefined) }
    },
    has: (key) => {
      const length = probe.write(key, 0)
      return seek(length) && compare(reader.key, reader.length, probe, length) === 0
    },
    hasPrefix: (prefix) => {
      const length = probe.write(prefix, 0)
      return seek(length) && reader.length >= length && compare(reader.key, length, probe, length) === 0
    }
  }
}

/** Merges two sorted runs into `into` as one run, without duplicates; answers the run's position. */
const mergeRuns = (into: Writer, first: Reader, second: Reader): number => {
  let start = -1
  const emit = (reader: Reader) => {
    if (start !== -1 && compare(reader.key, reader.length, into.last, into.lastLength) === 0) return
    const at = into.append(reader.key, reader.length, start === -1)
    if (start === -1) start = at
  }
  let a = first.next()
  let b = second.next()
  while (a || b) {
    if (a && (!b || compare(first.key, first.length, second.key, second.length) <= 0)) {
      emit(first)
      a = first.next()
    } else {
      emit(second)
      b = second.next()
    }
  }
  return start
}

export interface Builder {
  /** Adds a key (at most 64 KiB of UTF-8). */
  readonly add: (key: string) => void
  /** Sorts, drops duplicates, and answers the list; the builder is not used after this. */
  readonly finish: () => KeyList
}

export const builder = (): Builder => {
  let writer = new Writer()
  let runStarts = new Numbers()
  const incoming = Buffer.allocUnsafe(scratchBytes)
  return {
    add: (key) => {
      const length = incoming.write(key, 0)
      const order = writer.count === 0 ? -1 : compare(writer.last, writer.lastLength, incoming, length)
      if (order === 0) return
      const position = writer.append(incoming, length, order > 0)
      if (writer.count === 1 || order > 0) runStarts.push(position)
    },
    finish: () => {
      const first = new Reader()
      const second = new Reader()
      while (runStarts.length > 1) {
        const source = writer
        const starts = runStarts
        writer = new Writer()
        runStarts = new Numbers()
        const end = (j: number) => (j < starts.length ? starts.at(j) : source.end)
        for (let i = 0; i < starts.length; i += 2) {
          // An odd run out is merged with an empty one: copied.
          const from = i + 1 < starts.length ? end(i + 1) : source.end
          first.reset(source, starts.at(i), end(i + 1))
          second.reset(source, from, end(i + 2))
          runStarts.push(mergeRuns(writer, first, second))
        }
      }
      return listOf(writer)
    }
  }
}

/** A list of the given keys (tests, and a single-file dataset). */
export const of = (keys: Iterable<string>): KeyList => {
  const build = builder()
  for (const key of keys) build.add(key)
  return build.finish()
}
