/**
 * Keeping the bearer token out of everything a server sends back before it is shown, stored or cut. A hostile DAL
 * can echo the token whole, or in pieces (so that a message cut at 200 characters still shows most of it): in a text
 * to show, any run of at least {@link minRun} characters that also occurs in the token is replaced. Data the client
 * must refuse rather than redact (a listed key, an ETag) counts as a leak only with a run of half the token or more:
 * tokens often hold readable parts (`tok-gateway-1-...`) that legitimate keys share.
 */

/** Runs shorter than this are too common to mean anything (and a shorter token is matched whole). */
export const minRun = 8

export const redacted = "<redacted>"

export interface Scrubber {
  /** `text` with every run of the token's characters replaced by {@link redacted}. Call before cutting. */
  readonly text: (text: string) => string
  /** Whether `text` holds half the token or more in one run (fast enough for millions of listing entries). */
  readonly leaks: (text: string) => boolean
}

const base = 0x01000193

/** Polynomial hashes of every window of `width` characters, rolling, as 32-bit integers. */
const windowHashes = (text: string, width: number, visit: (hash: number, start: number) => boolean): boolean => {
  if (text.length < width) return false
  let top = 1
  for (let i = 1; i < width; i++) top = Math.imul(top, base)
  let hash = 0
  for (let i = 0; i < width; i++) hash = (Math.imul(hash, base) + text.charCodeAt(i)) | 0
  if (visit(hash, 0)) return true
  for (let i = width; i < text.length; i++) {
    hash = (Math.imul(hash - Math.imul(text.charCodeAt(i - width), top), base) + text.charCodeAt(i)) | 0
    if (visit(hash, i - width + 1)) return true
  }
  return false
}

export const make = (token: string): Scrubber => {
  if (token === "") return { text: (text) => text, leaks: () => false }
  const windows = (width: number) => {
    const known = new Set<number>()
    windowHashes(token, width, (hash) => {
      known.add(hash)
      return false
    })
    return known
  }
  const width = Math.min(minRun, token.length)
  const known = windows(width)
  const leakWidth = Math.min(token.length, Math.max(minRun, Math.ceil(token.length / 2)))
  const leakKnown = leakWidth === width ? known : windows(leakWidth)
  const holds = (text: string, size: number, hashes: ReadonlySet<number>): boolean =>
    windowHashes(text, size, (hash, start) => hashes.has(hash) && token.includes(text.slice(start, start + size)))

  const leaks = (text: string): boolean => holds(text, leakWidth, leakKnown)

  const text = (input: string): string => {
    if (!holds(input, width, known)) return input
    // Mark every character covered by a window that occurs in the token, then replace each marked run once.
    const marked = new Uint8Array(input.length)
    windowHashes(input, width, (hash, start) => {
      if (known.has(hash) && token.includes(input.slice(start, start + width))) marked.fill(1, start, start + width)
      return false
    })
    let out = ""
    for (let i = 0; i < input.length;) {
      if (marked[i] === 1) {
        out += redacted
        while (marked[i] === 1) i++
      } else {
        out += input[i]
        i++
      }
    }
    return out
  }

  return { text, leaks }
}
