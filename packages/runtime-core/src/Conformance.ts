/**
 * The conformance kit: what a model author runs (in a test) to show a runtime module is safe to host.
 *
 * - Every sample payload parses, validates and renders to a job that passes flare-config's whole-job checks.
 * - Rendering is deterministic: the same payload renders byte-identically twice, and also when the payload's JSON
 *   form is parsed again and when `dataset2gw` lists its datasets in another order.
 * - Every entry of the hostile corpus is rejected as the entry expects, with a clean message (one screen, no stack
 *   trace, no control characters); or, where the entry allows it, it renders a valid job in which each hostile
 *   string appears only as a whole JSON string, in a place where the sample's render has a string, and where no
 *   string the user controls carries FLARE variable syntax (`{SITE_NAME}`, `{$VAR}`, `${secret:…}`).
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as HostileCorpus from "./HostileCorpus.js"
import type * as JobFiles from "./JobFiles.js"
import type { JsonRecord } from "./JsonBody.js"
import { isPayloadRejected } from "./Rejection.js"
import type { Runtime } from "./Runtime.js"

/**
 * One failed check: which check, on what (`sample[0]`, a corpus entry id), and what happened.
 *
 * @since 0.1.0
 * @category models
 */
export const Finding = Schema.Struct({
  check: Schema.String,
  subject: Schema.String,
  message: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export type Finding = typeof Finding.Type

/**
 * @since 0.1.0
 * @category models
 */
export interface Report {
  readonly findings: ReadonlyArray<Finding>
  readonly samples: number
  readonly corpus: { readonly total: number; readonly rejected: number; readonly rendered: number }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Valid payloads: JSON objects, or request bodies as text. At least one. */
  readonly samples: ReadonlyArray<JsonRecord | string>
  /** Default: three datasets on two gateways. */
  readonly dataset2gw?: Readonly<Record<string, string>>
  /** Default: `HostileCorpus.make(first sample as parsed, { limits: runtime.limits })`. */
  readonly corpus?: ReadonlyArray<HostileCorpus.Entry>
}

/**
 * The runtime failed one or more checks.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConformanceFailed extends Schema.TaggedError<ConformanceFailed>()("ConformanceFailed", {
  findings: Schema.Array(Finding)
}) {
  override get message(): string {
    const shown = this.findings.slice(0, 5).map((finding) =>
      `[${finding.check}] ${finding.subject}: ${finding.message}`
    )
    const more = this.findings.length > 5 ? `\n…and ${this.findings.length - 5} more` : ""
    return `The runtime fails ${this.findings.length} conformance check(s):\n${shown.join("\n")}${more}`
  }
}

/**
 * The `dataset2gw` used when none is given: two gateways, one holding two datasets.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultDataset2Gw: Readonly<Record<string, string>> = {
  "dataset-a_gateway-1_org-1": "gateway-1",
  "dataset-b_gateway-2_org-2": "gateway-2",
  "dataset-c_gateway-2_org-2": "gateway-2"
}

/** Messages a user reads: at most this long. */
const MAX_MESSAGE = 1000
const CONTROL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u
const STACK = /\n\s+at |\bat .*\(.*:\d+:\d+\)/
const FLARE_VARIABLE = /\{[^{}]*\}|\$\{/

const reversed = (map: Readonly<Record<string, string>>): Readonly<Record<string, string>> =>
  Object.fromEntries(Object.entries(map).reverse())

const describeFailure = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  const tag = typeof error === "object" && error !== null && "_tag" in error ? `${String(error._tag)}: ` : ""
  return error instanceof Error ? `${tag}${error.message}` : String(error)
}

type Leaf = string | number | boolean | null

/** Every leaf of a JSON value by its path (keys JSON-quoted, so paths are unambiguous), and every key path. */
const flatten = (value: unknown, path = "$", leaves = new Map<string, Leaf>(), keys: Array<string> = []) => {
  if (Array.isArray(value)) {
    if (value.length === 0) leaves.set(path, "[]")
    value.forEach((item, index) => flatten(item, `${path}[${index}]`, leaves, keys))
  } else if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value)
    if (entries.length === 0) leaves.set(path, "{}")
    for (const [key, item] of entries) {
      keys.push(key)
      flatten(item, `${path}[${JSON.stringify(key)}]`, leaves, keys)
    }
  } else {
    leaves.set(path, value as Leaf)
  }
  return { leaves, keys }
}

type Flattened = ReturnType<typeof flatten>

const flattenJob = (files: JobFiles.JobFiles): ReadonlyMap<string, Flattened | string> =>
  new Map(
    Object.entries(files).map(([path, content]) => [
      path,
      path.endsWith(".json") ? flatten(JSON.parse(content)) : content
    ])
  )

/** Checks an accepted hostile payload's render against the sample's render. */
const traceRender = (
  entry: HostileCorpus.Entry,
  files: JobFiles.JobFiles,
  baseline: JobFiles.JobFiles,
  baselineFlat: ReadonlyMap<string, Flattened | string>
): ReadonlyArray<Finding> => {
  const findings: Array<Finding> = []
  const add = (check: string, message: string) => findings.push({ check, subject: entry.id, message })
  const baselineText = Object.values(baseline).join("\n")
  // A marker the sample's render already holds cannot be traced back to the payload.
  const markers = entry.markers.filter((marker) => marker.length > 0 && !baselineText.includes(marker))
  for (const [file, flat] of flattenJob(files)) {
    const before = baselineFlat.get(file)
    if (typeof flat === "string") {
      if (flat !== before && markers.some((marker) => flat.includes(marker))) {
        add("hostile-text-in-file", `${file} holds the hostile value in text`)
      }
      continue
    }
    const beforeLeaves = typeof before === "object" ? before.leaves : new Map<string, Leaf>()
    const beforeKeys = new Set(typeof before === "object" ? before.keys : [])
    for (const key of flat.keys) {
      // A key the sample's render lacks, made of the payload's text: the payload wrote JSON structure.
      if (!beforeKeys.has(key) && markers.some((marker) => marker.includes(key) || key.includes(marker))) {
        add("hostile-key", `${file} has a key taken from the hostile value`)
      }
    }
    for (const [path, leaf] of flat.leaves) {
      if (typeof leaf !== "string" || beforeLeaves.get(path) === leaf) continue
      if (FLARE_VARIABLE.test(leaf)) {
        add("flare-variable", `${file} ${path} holds payload text with FLARE variable syntax, which FLARE substitutes`)
      }
      for (const marker of markers) {
        if (leaf !== marker && leaf.includes(marker)) {
          add("spliced", `${file} ${path} holds the hostile value inside a longer string`)
        } else if (leaf === marker && typeof beforeLeaves.get(path) !== "string") {
          add("misplaced", `${file} ${path} holds the hostile value where the sample's render has no string`)
        }
      }
    }
  }
  return findings
}

/** Checks that a rejection is fit for a user. */
const checkRejection = (subject: string, error: unknown): ReadonlyArray<Finding> => {
  if (!isPayloadRejected(error)) return []
  const findings: Array<Finding> = []
  const texts = [error.message, ...error.issues.flatMap((issue) => [issue.path, issue.message])]
  if (error.issues.length === 0) {
    findings.push({ check: "rejection-issues", subject, message: "the rejection lists no issue" })
  }
  for (const text of texts) {
    if (text.length > MAX_MESSAGE) {
      findings.push({ check: "rejection-message", subject, message: `a message is ${text.length} characters long` })
    }
    if (CONTROL.test(text)) {
      findings.push({ check: "rejection-message", subject, message: "a message holds control or invisible characters" })
    }
    if (STACK.test(text)) {
      findings.push({ check: "rejection-message", subject, message: "a message holds a stack trace" })
    }
  }
  return findings
}

const renderBody = <A>(runtime: Runtime<A>, body: string, dataset2gw: unknown) =>
  Effect.exit(runtime.renderEffect(body, dataset2gw))

/**
 * Runs every check and reports what failed. Never fails itself: a crash of the runtime is a finding.
 *
 * @since 0.1.0
 * @category checking
 */
// eslint-disable-next-line max-lines-per-function -- one report: every check appends its findings to the same list, in order
export const run = <A>(runtime: Runtime<A>, options: Options): Effect.Effect<Report> =>
  Effect.gen(function*() {
    const findings: Array<Finding> = []
    const add = (check: string, subject: string, message: string) => findings.push({ check, subject, message })
    const dataset2gw = options.dataset2gw ?? defaultDataset2Gw
    const bodies = options.samples.map((sample) => typeof sample === "string" ? sample : JSON.stringify(sample))
    if (bodies.length === 0) add("samples", "(options)", "give at least one valid sample payload")

    let baseline: JobFiles.JobFiles | undefined
    // The corpus aims at every field of the first sample as parsed, defaults included.
    let target: JsonRecord | undefined
    for (const [index, body] of bodies.entries()) {
      const subject = `sample[${index}]`
      const payloadExit = yield* Effect.exit(runtime.parseEffect(body))
      if (Exit.isFailure(payloadExit)) {
        add("sample-parses", subject, describeFailure(payloadExit.cause))
        continue
      }
      const payload = payloadExit.value
      const validated = yield* Effect.exit(runtime.validateEffect(payload))
      if (Exit.isFailure(validated)) {
        add("sample-validates", subject, describeFailure(validated.cause))
        continue
      }
      const first = yield* Effect.exit(runtime.templateEffect(payload, dataset2gw))
      if (Exit.isFailure(first)) {
        add("sample-renders", subject, describeFailure(first.cause))
        continue
      }
      baseline ??= first.value
      const again = yield* renderBody(runtime, body, dataset2gw)
      const reordered = yield* Effect.exit(runtime.templateEffect(payload, reversed(dataset2gw)))
      const reparsed = yield* Effect.exit(
        Effect.sync(() => JSON.stringify(runtime.encode(payload))).pipe(
          Effect.tap((encoded) => {
            target ??= JSON.parse(encoded) as JsonRecord
          }),
          Effect.flatMap((encoded) => runtime.renderEffect(encoded, dataset2gw))
        )
      )
      const expected = JSON.stringify(first.value)
      for (
        const [check, exit] of [
          ["deterministic", again],
          ["dataset2gw-order", reordered],
          ["round-trip", reparsed]
        ] as const
      ) {
        if (Exit.isFailure(exit)) add(check, subject, describeFailure(exit.cause))
        else if (JSON.stringify(exit.value) !== expected) add(check, subject, "a second render differs from the first")
      }
    }

    const corpus = options.corpus ??
      HostileCorpus.make(target ?? HostileCorpus.contractSample, { limits: runtime.limits })
    const baselineFlat = baseline === undefined ? new Map<string, Flattened | string>() : flattenJob(baseline)
    let rejected = 0
    let rendered = 0
    for (const entry of corpus) {
      const exit = yield* renderBody(runtime, entry.body, dataset2gw)
      if (Exit.isSuccess(exit)) {
        rendered++
        if (entry.expect !== "reject-or-safe") {
          add("hostile-rejected", entry.id, `accepted, but a safe runtime rejects it (${entry.expect})`)
        } else if (baseline !== undefined) {
          findings.push(...traceRender(entry, exit.value, baseline, baselineFlat))
        }
        continue
      }
      const failure = Cause.failureOption(exit.cause)
      const error = failure._tag === "Some" ? failure.value : undefined
      if (!isPayloadRejected(error)) {
        add("hostile-crash", entry.id, `not a payload rejection: ${describeFailure(exit.cause)}`)
        continue
      }
      rejected++
      const expectedTag = entry.expect === "reject" || entry.expect === "reject-or-safe" ? undefined : entry.expect
      if (expectedTag !== undefined && error._tag !== expectedTag) {
        add("hostile-rejected", entry.id, `rejected as ${error._tag}, expected ${expectedTag}`)
      }
      findings.push(...checkRejection(entry.id, error))
    }
    return { findings, samples: bodies.length, corpus: { total: corpus.length, rejected, rendered } }
  })

/**
 * Like {@link run}, but fails with {@link ConformanceFailed} when anything is found.
 *
 * @since 0.1.0
 * @category checking
 */
export const check = <A>(runtime: Runtime<A>, options: Options): Effect.Effect<Report, ConformanceFailed> =>
  Effect.flatMap(
    run(runtime, options),
    (report) =>
      report.findings.length === 0
        ? Effect.succeed(report)
        : Effect.fail(new ConformanceFailed({ findings: report.findings }))
  )
