/**
 * An incremental HTTP/1.1 response parser for the download path: status line and headers (bounded), then the body
 * framed by `Transfer-Encoding: chunked`, `Content-Length`, or the end of the connection. It never copies body
 * bytes: they are handed out as ranges of the buffer being fed, which is the socket's reused read buffer.
 */

/** Response headers larger than this are refused: a DAL's are a few hundred bytes. */
export const maxHeadBytes = 64 * 1024

// A chunk-size line (hex size, optional extensions) longer than this is not HTTP a DAL would send.
const maxChunkLineBytes = 1024

// Interim (1xx) responses before the real one: a server sending them forever would keep the idle timer from firing.
const maxInterimResponses = 8

export interface Head {
  readonly status: number
  /** Lower-case names, first value of each. */
  readonly headers: Readonly<Record<string, string | undefined>>
  /** The body's length when the framing says it (Content-Length without chunking). */
  readonly length: number | undefined
  /** Whether the connection can carry another request after this response. */
  readonly keepAlive: boolean
}

export interface Handlers {
  readonly onHead: (head: Head) => void
  /** Body bytes `buffer[start, end)`; valid only during the call. */
  readonly onBody: (buffer: Uint8Array, start: number, end: number) => void
  readonly onComplete: () => void
}

export type Feed =
  | { readonly _tag: "More" }
  /** The response is complete; bytes from `rest` on belong to whatever follows (nothing, for a DAL). */
  | { readonly _tag: "Complete"; readonly rest: number }
  | { readonly _tag: "Invalid"; readonly reason: string }

type State =
  | { readonly _tag: "Head" }
  | { readonly _tag: "Sized"; left: number }
  | { readonly _tag: "ChunkLine" }
  | { readonly _tag: "ChunkData"; left: number }
  | { readonly _tag: "ChunkDataEnd" }
  | { readonly _tag: "Trailers" }
  | { readonly _tag: "UntilClose" }
  | { readonly _tag: "Done" }

const CR = 13
const LF = 10

const parseHead = (text: string, method: "GET" | "HEAD"): Head | { readonly invalid: string } | "interim" => {
  const lines = text.split("\r\n")
  const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? "")
  if (statusLine === null) return { invalid: `not an HTTP/1.x status line: ${JSON.stringify(lines[0]?.slice(0, 80))}` }
  const status = Number(statusLine[2])
  if (status >= 100 && status < 200) return "interim"
  const headers: Record<string, string | undefined> = {}
  const lengths = new Set<string>()
  for (const line of lines.slice(1)) {
    if (line === "") continue
    const colon = line.indexOf(":")
    if (colon <= 0) return { invalid: `malformed header line ${JSON.stringify(line.slice(0, 80))}` }
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    if (name === "content-length") { for (const part of value.split(",")) lengths.add(part.trim()) }
    headers[name] ??= value
  }
  const chunked = /(?:^|,)\s*chunked\s*$/i.test(headers["transfer-encoding"] ?? "")
  if (headers["transfer-encoding"] !== undefined && !chunked) {
    return { invalid: `unsupported Transfer-Encoding ${JSON.stringify(headers["transfer-encoding"])}` }
  }
  // Differing Content-Length values are the classic response-smuggling signal: refuse rather than guess.
  if (lengths.size > 1) return { invalid: "conflicting Content-Length headers" }
  const [declared] = lengths
  if (declared !== undefined && !/^\d{1,15}$/.test(declared)) {
    return { invalid: `invalid Content-Length ${JSON.stringify(declared.slice(0, 40))}` }
  }
  const bodiless = method === "HEAD" || status === 204 || status === 304
  const length = bodiless ? 0 : chunked ? undefined : declared === undefined ? undefined : Number(declared)
  const closing = /(?:^|,)\s*close\s*(?:,|$)/i.test(headers["connection"] ?? "") || statusLine[1] === "0"
  return { status, headers, length, keepAlive: !closing && (chunked || length !== undefined) }
}

/** A parser for one response; feed it every byte read from the connection, in order. */
export const make = (handlers: Handlers, method: "GET" | "HEAD" = "GET") => {
  let state: State = { _tag: "Head" }
  let head: Array<number> = []
  let line = ""
  let interim = 0

  const complete = (rest: number): Feed => {
    state = { _tag: "Done" }
    handlers.onComplete()
    return { _tag: "Complete", rest }
  }

  const startBody = (parsed: Head, rest: number): Feed | undefined => {
    handlers.onHead(parsed)
    if (parsed.length === 0) return complete(rest)
    if (parsed.length !== undefined) state = { _tag: "Sized", left: parsed.length }
    else if (/chunked/i.test(parsed.headers["transfer-encoding"] ?? "")) state = { _tag: "ChunkLine" }
    else state = { _tag: "UntilClose" }
    return undefined
  }

  /** Hands out as much of the `left` bytes as `buffer[at, end)` holds; answers where the next byte is. */
  const handOut = (sized: { left: number }, buffer: Uint8Array, at: number, end: number): number => {
    const take = Math.min(sized.left, end - at)
    handlers.onBody(buffer, at, at + take)
    sized.left -= take
    return at + take
  }

  /** Feeds `buffer[start, end)`. */
  const feed = (buffer: Uint8Array, start: number, end: number): Feed => {
    let at = start
    while (at < end) {
      switch (state._tag) {
        case "Head": {
          // Byte by byte until the blank line: headers are small, and this keeps the body bytes where they are.
          const byte = buffer[at++]!
          head.push(byte)
          if (head.length > maxHeadBytes) {
            return { _tag: "Invalid", reason: `response headers over ${maxHeadBytes} bytes` }
          }
          const n = head.length
          if (byte !== LF || n < 4 || head[n - 2] !== CR || head[n - 3] !== LF || head[n - 4] !== CR) break
          const parsed = parseHead(Buffer.from(head.slice(0, n - 4)).toString("latin1"), method)
          head = []
          if (parsed === "interim") {
            if (++interim > maxInterimResponses) return { _tag: "Invalid", reason: "too many interim (1xx) responses" }
            break
          }
          if ("invalid" in parsed) return { _tag: "Invalid", reason: parsed.invalid }
          const done = startBody(parsed, at)
          if (done !== undefined) return done
          break
        }
        case "Sized":
          at = handOut(state, buffer, at, end)
          if (state.left === 0) return complete(at)
          break
        case "UntilClose":
          handlers.onBody(buffer, at, end)
          at = end
          break
        case "ChunkLine":
        case "Trailers": {
          const byte = buffer[at++]!
          if (byte !== LF) {
            line += String.fromCharCode(byte)
            if (line.length > maxChunkLineBytes) return { _tag: "Invalid", reason: "chunk header line too long" }
            break
          }
          if (!line.endsWith("\r")) return { _tag: "Invalid", reason: "chunk framing without CRLF" }
          const text = line.slice(0, -1)
          line = ""
          if (state._tag === "Trailers") {
            if (text === "") return complete(at)
            break
          }
          const size = /^([0-9a-fA-F]{1,12})(?:\s*;.*)?$/.exec(text)
          if (size === null) {
            return { _tag: "Invalid", reason: `invalid chunk size ${JSON.stringify(text.slice(0, 40))}` }
          }
          const left = parseInt(size[1]!, 16)
          state = left === 0 ? { _tag: "Trailers" } : { _tag: "ChunkData", left }
          break
        }
        case "ChunkData":
          at = handOut(state, buffer, at, end)
          if (state.left === 0) state = { _tag: "ChunkDataEnd" }
          break
        case "ChunkDataEnd": {
          const byte = buffer[at++]!
          line += String.fromCharCode(byte)
          if (line.length < 2) break
          if (line !== "\r\n") return { _tag: "Invalid", reason: "chunk data not followed by CRLF" }
          line = ""
          state = { _tag: "ChunkLine" }
          break
        }
        case "Done":
          return { _tag: "Complete", rest: at }
      }
    }
    return { _tag: "More" }
  }

  /**
   * The connection ended: completes a body framed by the end of the connection; anything else ending here is
   * short (answers false).
   */
  const end = (): boolean => {
    if (state._tag === "UntilClose") {
      complete(0)
      return true
    }
    return state._tag === "Done"
  }

  return { feed, end, done: () => state._tag === "Done", started: () => state._tag !== "Head" || head.length > 0 }
}

export type Parser = ReturnType<typeof make>
