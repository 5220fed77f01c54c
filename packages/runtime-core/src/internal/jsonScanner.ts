import { quote } from "./text.js"

/**
 * A single pass over JSON text that does what `JSON.parse` cannot be asked to do: report syntax errors with a line,
 * a column and the path being read (V8's own messages echo the input and often omit the position), stop at a nesting
 * limit before anything is built, and find what a parser accepts silently: keys that pollute prototypes, duplicate
 * keys, numbers that do not survive conversion to a double, NUL characters and unpaired surrogates.
 * It builds no values; `JSON.parse` does that afterwards, on text this scan has accepted.
 */

export type Path = Array<string | number>

export interface Position {
  readonly line: number
  readonly column: number
}

export interface ScanIssue {
  readonly path: ReadonlyArray<string | number>
  readonly message: string
}

export type ScanResult =
  | {
    readonly _tag: "Syntax"
    readonly position: Position
    readonly path: ReadonlyArray<string | number>
    readonly message: string
  }
  | { readonly _tag: "TooDeep"; readonly position: Position; readonly path: ReadonlyArray<string | number> }
  | {
    readonly _tag: "Scanned"
    readonly rootIsObject: boolean
    readonly rootKind: string
    /** At most `maxIssues`; `total` counts them all. */
    readonly issues: ReadonlyArray<ScanIssue>
    readonly total: number
  }

export interface ScanOptions {
  readonly maxDepth: number
  readonly maxIssues: number
}

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"])

interface Frame {
  readonly kind: "object" | "array"
  readonly open: number
  /** The current key (object) or index (array); undefined while a key is being read. */
  slot: string | number | undefined
  keys: Set<string> | undefined
}

interface StringFlags {
  readonly text: string
  readonly hasNul: boolean
  readonly lone: boolean
}

interface Failure {
  readonly at: number
  readonly message: string
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39
const isWhitespace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

const positionOf = (text: string, at: number): Position => {
  let line = 1
  let lineStart = 0
  for (let i = 0; i < at && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++
      lineStart = i + 1
    }
  }
  return { line, column: at - lineStart + 1 }
}

const describeChar = (text: string, at: number): string => {
  if (at >= text.length) return "the end of the body"
  const code = text.codePointAt(at) ?? 0
  return quote(String.fromCodePoint(code))
}

const SIMPLE_ESCAPES: ReadonlySet<number> = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74])
const HEX4 = /^[0-9A-Fa-f]{4}$/

/**
 * Scans `text`. Every reader returns `false` after recording the first syntax failure, and callers stop there: the
 * scan never throws.
 *
 * One function on purpose (about 290 lines): it is the hot loop every request body goes through, one character at a
 * time. Its readers are closures over the shared cursor (`pos`), the frame stack and the failure; split into
 * modules, each would take and return that state per character (an object per call, or a class whose field reads V8
 * cannot keep in registers), which measured slower here. The readers inside are small and named, one per JSON token.
 */
// eslint-disable-next-line max-lines-per-function -- a hot state machine over one cursor, see above
export const scan = (text: string, options: ScanOptions): ScanResult => {
  const stack: Array<Frame> = []
  const issues: Array<ScanIssue> = []
  const len = text.length
  let pos = 0
  let failure: Failure | undefined

  const currentPath = (): Path => {
    const path: Path = []
    for (const frame of stack) {
      if (frame.slot === undefined) break
      path.push(frame.slot)
    }
    return path
  }
  let total = 0
  const addIssue = (path: Path, message: string) => {
    total++
    if (issues.length < options.maxIssues) issues.push({ path, message })
  }
  const fail = (at: number, message: string): false => {
    failure = { at, message }
    return false
  }
  const skipWhitespace = () => {
    while (pos < len && isWhitespace(text.charCodeAt(pos))) pos++
  }

  /** Reports what a string holds that JSON allows but a payload must not. */
  const checkText = (flags: StringFlags) => {
    if (flags.hasNul) addIssue(currentPath(), "contains a NUL character (\\u0000), which is not allowed")
    if (flags.lone) addIssue(currentPath(), "contains an unpaired UTF-16 surrogate, which is not valid Unicode text")
  }

  /**
   * Reads a string from its opening quote. Tracks UTF-16 units (raw or escaped) to find unpaired surrogates and NUL.
   * Decodes the text only when asked (keys); returns false on a syntax failure.
   */
  const readString = (decode: boolean): StringFlags | false => {
    const start = pos
    pos++
    let hasEscape = false
    let pendingHigh = false
    let lone = false
    let hasNul = false
    for (;;) {
      if (pos >= len) return fail(start, "a string is not closed: add the closing quote (\")")
      let code = text.charCodeAt(pos)
      if (code === 0x22) break
      if (code === 0x5c) {
        hasEscape = true
        const e = text.charCodeAt(pos + 1)
        if (e === 0x75) {
          const hex = text.slice(pos + 2, pos + 6)
          if (!HEX4.test(hex)) return fail(pos, "a \\u escape needs exactly four hexadecimal digits, as in \\u00e9")
          code = parseInt(hex, 16)
          pos += 6
        } else if (SIMPLE_ESCAPES.has(e)) {
          code = e
          pos += 2
        } else {
          return fail(
            pos,
            `${
              describeChar(text, pos + 1)
            } cannot follow a backslash; valid escapes are \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX`
          )
        }
      } else if (code < 0x20) {
        return fail(
          pos,
          `control character U+${code.toString(16).padStart(4, "0").toUpperCase()} must be escaped inside a string`
        )
      } else {
        pos++
      }
      // The unit just read, raw or escaped: pair surrogates, spot NUL.
      if (code >= 0xd800 && code <= 0xdfff) {
        const isLow = code >= 0xdc00
        if (pendingHigh !== isLow) lone = true
        pendingHigh = !isLow
      } else {
        if (pendingHigh) lone = true
        pendingHigh = false
        if (code === 0) hasNul = true
      }
    }
    if (pendingHigh) lone = true
    const end = pos
    pos++
    const decoded = !decode
      ? ""
      : hasEscape
      ? JSON.parse(text.slice(start, end + 1)) as string
      : text.slice(start + 1, end)
    return { text: decoded, hasNul, lone }
  }

  const readDigits = () => {
    while (isDigit(text.charCodeAt(pos))) pos++
  }

  const readNumber = (): boolean => {
    const start = pos
    if (text.charCodeAt(pos) === 0x2d) pos++
    const intStart = pos
    if (text.charCodeAt(pos) === 0x30) {
      pos++
      if (isDigit(text.charCodeAt(pos))) return fail(intStart, "numbers cannot have leading zeros")
    } else if (isDigit(text.charCodeAt(pos))) {
      readDigits()
    } else {
      return fail(pos, `expected a digit, found ${describeChar(text, pos)}`)
    }
    let integer = true
    if (text.charCodeAt(pos) === 0x2e) {
      integer = false
      pos++
      if (!isDigit(text.charCodeAt(pos))) return fail(pos, "a decimal point must be followed by digits, as in 1.0")
      readDigits()
    }
    const mantissaEnd = pos
    const e = text.charCodeAt(pos)
    if (e === 0x65 || e === 0x45) {
      integer = false
      pos++
      const sign = text.charCodeAt(pos)
      if (sign === 0x2b || sign === 0x2d) pos++
      if (!isDigit(text.charCodeAt(pos))) return fail(pos, "an exponent must have digits, as in 1e-3")
      readDigits()
    }
    const literal = text.slice(start, pos)
    const value = Number(literal)
    const shown = literal.length <= 24 ? literal : `${literal.slice(0, 24)}… (${literal.length} characters)`
    if (!Number.isFinite(value)) {
      addIssue(currentPath(), `number ${shown} is too large to represent (the limit is about 1.8e308)`)
    } else if (value === 0 && /[1-9]/.test(text.slice(intStart, mantissaEnd))) {
      addIssue(currentPath(), `number ${shown} is too small to represent: it would silently become 0`)
    } else if (integer && !Number.isSafeInteger(value) && BigInt(literal) !== BigInt(value)) {
      addIssue(
        currentPath(),
        `integer ${shown} cannot be represented exactly; integers beyond ±9007199254740991 lose digits`
      )
    }
    return true
  }

  const readWord = (word: string): boolean => {
    if (text.startsWith(word, pos)) {
      pos += word.length
      return true
    }
    return unexpectedValue()
  }

  const unexpectedValue = (): false =>
    pos >= len
      ? fail(pos, "the body ends where a value was expected")
      : fail(
        pos,
        `unexpected ${
          describeChar(text, pos)
        }: expected a value (an object, array, string, number, true, false or null)`
      )

  /** Reads `"key" :` for the object on top of the stack. */
  const readKey = (frame: Frame): boolean => {
    frame.slot = undefined
    if (text.charCodeAt(pos) !== 0x22) {
      return fail(pos, `expected a field name in double quotes, found ${describeChar(text, pos)}`)
    }
    const read = readString(true)
    if (read === false) return false
    const key = read.text
    frame.slot = key
    checkText(read)
    if (FORBIDDEN_KEYS.has(key)) addIssue(currentPath(), `field name ${quote(key)} is not allowed`)
    frame.keys ??= new Set()
    if (frame.keys.has(key)) addIssue(currentPath(), "this field appears more than once; give it once")
    frame.keys.add(key)
    skipWhitespace()
    if (text.charCodeAt(pos) !== 0x3a) {
      return fail(pos, `expected ":" after the field name, found ${describeChar(text, pos)}`)
    }
    pos++
    return true
  }

  /** Reads one value; containers only open here (their items are read by the main loop). */
  const readValue = (): boolean => {
    const c = text.charCodeAt(pos)
    if (c === 0x22) {
      const read = readString(false)
      if (read === false) return false
      checkText(read)
      return true
    }
    if (c === 0x2d || isDigit(c)) return readNumber()
    if (c === 0x74) return readWord("true")
    if (c === 0x66) return readWord("false")
    if (c === 0x6e) return readWord("null")
    return unexpectedValue()
  }

  const ROOT_KINDS: Record<number, string> = {
    0x7b: "an object",
    0x5b: "an array",
    0x22: "a string",
    0x74: "true",
    0x66: "false",
    0x6e: "null"
  }

  const run = (): ScanResult | undefined => {
    if (text.charCodeAt(0) === 0xfeff) return void fail(0, "the body starts with a byte-order mark (U+FEFF); remove it")
    skipWhitespace()
    if (pos >= len) return void fail(pos, "the body is empty; send a JSON object")
    rootKind = ROOT_KINDS[text.charCodeAt(pos)] ?? "a number"
    let expectValue = true
    for (;;) {
      if (expectValue) {
        skipWhitespace()
        const c = text.charCodeAt(pos)
        if (c === 0x7b || c === 0x5b) {
          const kind = c === 0x7b ? "object" : "array"
          if (stack.length >= options.maxDepth) {
            return { _tag: "TooDeep", position: positionOf(text, pos), path: currentPath() }
          }
          const frame: Frame = { kind, open: pos, slot: kind === "array" ? 0 : undefined, keys: undefined }
          stack.push(frame)
          pos++
          skipWhitespace()
          if (text.charCodeAt(pos) === (kind === "object" ? 0x7d : 0x5d)) {
            pos++
            stack.pop()
          } else {
            if (kind === "object" && !readKey(frame)) return
            continue
          }
        } else if (!readValue()) {
          return
        }
        expectValue = false
      }
      // After a value: close the container, or move on to its next item.
      skipWhitespace()
      const frame = stack[stack.length - 1]
      if (frame === undefined) {
        if (pos < len) return void fail(pos, `unexpected ${describeChar(text, pos)} after the end of the JSON value`)
        return undefined
      }
      const c = text.charCodeAt(pos)
      const closer = frame.kind === "object" ? "}" : "]"
      if (c === closer.charCodeAt(0)) {
        pos++
        stack.pop()
      } else if (c === 0x2c) {
        pos++
        // From here on the path names the item the comma announces.
        frame.slot = frame.kind === "object" ? undefined : (frame.slot as number) + 1
        skipWhitespace()
        if (text.charCodeAt(pos) === closer.charCodeAt(0)) {
          return void fail(pos, "a comma must be followed by another item (trailing commas are not JSON)")
        }
        if (frame.kind === "object" && !readKey(frame)) return
        expectValue = true
      } else if (pos >= len) {
        const opened = positionOf(text, frame.open)
        return void fail(
          pos,
          `the body ends inside the ${frame.kind} opened at line ${opened.line}, column ${opened.column}; close it with "${closer}"`
        )
      } else {
        return void fail(pos, `expected "," or "${closer}", found ${describeChar(text, pos)}`)
      }
    }
  }

  let rootKind = "nothing"
  const tooDeep = run()
  if (tooDeep !== undefined) return tooDeep
  if (failure !== undefined) {
    return { _tag: "Syntax", position: positionOf(text, failure.at), path: currentPath(), message: failure.message }
  }
  return { _tag: "Scanned", rootIsObject: rootKind === "an object", rootKind, issues, total }
}
