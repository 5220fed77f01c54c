/**
 * An incremental decoder for a listing page, a JSON array of strings: bytes go in as they arrive, each key comes out
 * as soon as its closing quote does, so a page is never held whole, as bytes or as a parsed array. A key longer than
 * {@link maxKeyBytes} is refused (S3 allows 1,024 bytes). Errors name the byte offset, never quote the content.
 */

export const maxKeyBytes = 64 * 1024

const enum State {
  Start,
  FirstValue,
  Value,
  InString,
  AfterValue,
  Done
}

const quote = 0x22
const backslash = 0x5c

const isSpace = (byte: number): boolean => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09

const utf8 = new TextDecoder("utf-8", { fatal: true })

export interface Decoder {
  /** Feeds the next bytes; answers a reason when the page is not a JSON array of strings, or `onKey`'s refusal. */
  readonly feed: (chunk: Uint8Array) => string | undefined
  /** The page ended; answers a reason when the array is incomplete. */
  readonly end: () => string | undefined
}

/** `onKey` answers a reason to stop (a refused key), or undefined to go on. */
// eslint-disable-next-line max-lines-per-function -- an incremental decoder is one state machine over the bytes
export const make = (onKey: (key: string) => string | undefined): Decoder => {
  let state = State.Start
  let offset = 0
  let escaped = false
  let hasEscapes = false
  let parts: Array<Uint8Array> = []
  let partBytes = 0

  const expected = (what: string, at: number) =>
    `the listing is not a JSON array of keys (byte ${offset + at}: expected ${what})`

  const emit = (raw: Uint8Array, at: number): string | undefined => {
    let key: string
    try {
      const text = utf8.decode(raw)
      key = hasEscapes ? (JSON.parse(`"${text}"`) as string) : text
    } catch {
      return expected("a valid JSON string", at)
    }
    return onKey(key)
  }

  const feed = (chunk: Uint8Array): string | undefined => {
    let start = 0
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!
      switch (state) {
        case State.InString: {
          if (escaped) {
            escaped = false
          } else if (byte === backslash) {
            escaped = true
            hasEscapes = true
          } else if (byte === quote) {
            const piece = chunk.subarray(start, i)
            const raw = parts.length === 0 ? piece : Buffer.concat([...parts, piece])
            if (raw.length > maxKeyBytes) return `a listed key is longer than ${maxKeyBytes} bytes`
            parts = []
            partBytes = 0
            const refused = emit(raw, i)
            if (refused !== undefined) return refused
            state = State.AfterValue
          } else if (byte < 0x20) {
            return expected("no control characters inside a string", i)
          }
          break
        }
        case State.Start:
          if (isSpace(byte)) break
          if (byte !== 0x5b) return expected("'['", i)
          state = State.FirstValue
          break
        case State.FirstValue:
        case State.Value:
          if (isSpace(byte)) break
          if (byte === 0x5d && state === State.FirstValue) {
            state = State.Done
            break
          }
          if (byte !== quote) return expected("a string", i)
          state = State.InString
          hasEscapes = false
          start = i + 1
          break
        case State.AfterValue:
          if (isSpace(byte)) break
          if (byte === 0x2c) state = State.Value
          else if (byte === 0x5d) state = State.Done
          else return expected("',' or ']'", i)
          break
        case State.Done:
          if (!isSpace(byte)) return expected("nothing after the array", i)
          break
      }
    }
    if (state === State.InString) {
      const rest = chunk.subarray(start)
      partBytes += rest.length
      if (partBytes > maxKeyBytes) return `a listed key is longer than ${maxKeyBytes} bytes`
      // the chunk belongs to its consumer only for this call's duration in general: keep a copy
      parts.push(Uint8Array.prototype.slice.call(rest))
    }
    offset += chunk.length
    return undefined
  }

  return {
    feed,
    end: () => state === State.Done ? undefined : expected("the end of the array, but the page ended", 0)
  }
}
