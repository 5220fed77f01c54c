/** Text that reaches logs and terminals: bounded, one line, printable ASCII only. */

const UNPRINTABLE = /[^\x20-\x7e]/g

const escapeChar = (char: string): string => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`

/**
 * A bounded, sanitized excerpt of untrusted text: at most `max` characters of it, every character outside printable
 * ASCII escaped (`\u001b`), so neither control sequences nor look-alike characters reach a log or a terminal.
 */
export const excerpt = (text: string, max = 64): string => {
  const head = text.length > max ? text.slice(0, max) : text
  const escaped = head.replace(UNPRINTABLE, escapeChar)
  return text.length > max ? `${escaped}...(${text.length} chars)` : escaped
}

/** A one-line, bounded description of anything thrown. */
export const describeError = (error: unknown, max = 300): string => {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  return excerpt(text.split("\n")[0] ?? "", max)
}
