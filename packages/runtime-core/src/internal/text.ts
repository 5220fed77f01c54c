/**
 * Renders untrusted text for an error message: quoted, truncated, and with every character that could hide or
 * reorder what the reader sees (controls, bidi overrides, zero-width and tag characters, lone surrogates) escaped.
 * Non-ASCII letters are escaped too, so a homoglyph ("аdam" with a Cyrillic "а") cannot pass for the real value.
 */
export const quote = (text: string, maxChars = 40): string => {
  let out = "\""
  let count = 0
  for (const char of text) {
    if (count === maxChars) {
      const total = [...text].length
      return `${out}…" (${total} characters)`
    }
    out += escapeChar(char)
    count++
  }
  return out + "\""
}

const escapeChar = (char: string): string => {
  const code = char.codePointAt(0) ?? 0
  if (char === "\"") return "\\\""
  if (char === "\\") return "\\\\"
  if (code >= 0x20 && code < 0x7f) return char
  if (code === 0x0a) return "\\n"
  if (code === 0x0d) return "\\r"
  if (code === 0x09) return "\\t"
  if (code > 0xffff) {
    const high = Math.floor((code - 0x10000) / 0x400) + 0xd800
    const low = ((code - 0x10000) % 0x400) + 0xdc00
    return unicodeEscape(high) + unicodeEscape(low)
  }
  return unicodeEscape(code)
}

const unicodeEscape = (code: number): string => "\\u" + code.toString(16).padStart(4, "0")

const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu

/**
 * Makes a message written elsewhere (a schema's author, a thrown error) fit for a user: invisible and control
 * characters escaped, cut to a length a person reads on one screen.
 */
export const clip = (text: string, maxChars = 300): string => {
  const visible = text.replace(INVISIBLE, (char) => escapeChar(char))
  return visible.length <= maxChars ? visible : visible.slice(0, maxChars) + "…"
}

/** A short, safe description of any JSON-like value for "got …" in messages. */
export const describeValue = (value: unknown): string => {
  if (value === null) return "null"
  switch (typeof value) {
    case "string":
      return quote(value)
    case "number":
      return Object.is(value, -0) ? "-0" : String(value)
    case "boolean":
      return String(value)
    case "undefined":
      return "nothing"
    case "object":
      return Array.isArray(value)
        ? value.length === 0 ? "an empty array" : `an array of ${value.length} item${value.length === 1 ? "" : "s"}`
        : "an object"
    default:
      return `a ${typeof value}`
  }
}

const identifierLike = /^[A-Za-z_][A-Za-z0-9_]*$/

/** `["a", 0, "b c"]` → `a[0]["b c"]`; the empty path is `(root)`. */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string => {
  if (path.length === 0) return "(root)"
  let out = ""
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`
    else if (typeof segment === "string" && identifierLike.test(segment)) out += out === "" ? segment : `.${segment}`
    else if (typeof segment === "string") out += `[${quote(segment)}]`
    else out += "[symbol]"
  }
  return out
}
