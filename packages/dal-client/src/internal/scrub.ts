/**
 * Keeping the bearer token out of everything a server sends back before it is shown, stored or cut. A hostile DAL
 * can echo the token whole, or in pieces (so that a message cut at 200 characters still shows most of it): any run
 * of at least {@link minRun} characters that also occurs in the token counts as the token.
 */

/** Runs shorter than this are too common to mean anything (and a shorter token is matched whole). */
export const minRun = 8

export const redacted = "<redacted>"

export interface Scrubber {
  /** `text` with every run of the token's characters replaced by {@link redacted}. Call before cutting. */
  readonly text: (text: string) => string
  /** Whether `text` holds a run of the token's characters (fast enough for millions of listing entries). */
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
  const width = Math.min(minRun, token.length)
  const known = new Set<number>()
  windowHashes(token, width, (hash) => {
    known.add(hash)
    return false
  })

  const leaks = (text: string): boolean =>
    windowHashes(text, width, (hash, start) => known.has(hash) && token.includes(text.slice(start, start + width)))

  const text = (input: string): string => {
    if (!leaks(input)) return input
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
