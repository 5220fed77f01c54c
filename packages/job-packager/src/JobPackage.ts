/**
 * A checked, in-memory FLARE job: its name and its files as bytes, in one canonical order, with a SHA-256 per file
 * and a digest of the whole. Every way into a package (a template's file map, a job folder, a ZIP) goes through the
 * same checks, so nothing unchecked ever reaches the disk or FLARE:
 *
 * - every path obeys {@link JobPath} (layout, zip-slip, collisions);
 * - every JSON file is JSON, and `meta.json` and the server/client configs decode with `@fedkit/flare-config`;
 * - the job as a whole passes flare-config's `JobCheck` (every app in `deploy_map` present, the configs each app
 *   needs present, references resolve, FLARE's submission rules hold).
 *
 * @since 0.1.0
 */
import { CanonicalJson, type FlareTarget, Issue, Job, JobCheck } from "@fedkit/flare-config"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { hash } from "node:crypto"
import * as JobPath from "./JobPath.js"

/**
 * What a template may give for one file: a JSON value (written as canonical JSON), text (written as UTF-8; for a
 * `.json` file it must be JSON text) or bytes (written as they are).
 *
 * @since 0.1.0
 * @category models
 */
export type FileContent = CanonicalJson.JsonValue | string | Uint8Array

/**
 * @since 0.1.0
 * @category models
 */
export interface JobFile {
  /** Relative to the job folder: `meta.json`, `app/config/config_fed_server.json`, `app/custom/train.py`. */
  readonly path: string
  readonly data: Uint8Array
  /** Lower-case hex. */
  readonly sha256: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface JobPackage {
  /** The job folder's name, which FLARE records as `job_folder_name`. */
  readonly name: string
  /** The FLARE release the job was checked for. */
  readonly target: FlareTarget.FlareTarget
  /** Sorted by path (UTF-8 byte order). */
  readonly files: ReadonlyArray<JobFile>
  /** `sha256:<hex>` of the package's listing, see {@link listing}. */
  readonly digest: string
}

/**
 * The job is not valid: every problem found, each with its file and, for JSON files, where inside it.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidJob extends Schema.TaggedError<InvalidJob>()("InvalidJob", {
  job: Schema.String,
  issues: Schema.Array(Issue.Issue)
}) {
  override get message(): string {
    const shown = this.issues.slice(0, 5).map((issue) =>
      `${issue.file === undefined ? "" : `${JobPath.show(issue.file)} `}${issue.path}: ${issue.message}`
    )
    const more = this.issues.length > shown.length ? `; and ${this.issues.length - shown.length} more` : ""
    return `job ${JobPath.show(this.job)} is not a valid FLARE job (${this.issues.length} issue${
      this.issues.length === 1 ? "" : "s"
    }): ${shown.join("; ")}${more}`
  }
}

/**
 * Limits a package must stay within, so a hostile input cannot exhaust memory or the ZIP format.
 *
 * @since 0.1.0
 * @category constants
 */
export const LIMITS = { maxFiles: 10_000, maxTotalBytes: 1024 * 1024 * 1024 } as const

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The FLARE release to check the job for; default `"2.9"`, the release the project pins. */
  readonly target?: FlareTarget.FlareTarget
}

const encoder = new TextEncoder()
const utf8 = new TextDecoder("utf-8", { fatal: true })
const lenientUtf8 = new TextDecoder("utf-8")

const sha256 = (data: Uint8Array | string): string => hash("sha256", data, "hex")

const issue = (file: string | undefined, message: string, path = "$") =>
  new Issue.Issue({ ...(file === undefined ? {} : { file }), path, message })

const isJsonFile = (placement: JobPath.Placement) => placement._tag === "Meta" || placement._tag === "Config"

/**
 * The listing the digest is taken over: one `<sha256>  <name>/<path>` line per file, in package order, exactly
 * what `sha256sum` prints for the job folder's files, so standard tools can recompute the digest.
 *
 * @since 0.1.0
 * @category digest
 */
export const listing = (pkg: Pick<JobPackage, "name" | "files">): string =>
  pkg.files.map((file) => `${file.sha256}  ${pkg.name}/${file.path}\n`).join("")

/** Turns one template value into bytes; JSON values become canonical JSON. */
const toBytes = (
  path: string,
  placement: JobPath.Placement,
  content: unknown,
  issues: Array<Issue.Issue>
): Uint8Array | undefined => {
  if (content instanceof Uint8Array) return content
  if (typeof content === "string") return encoder.encode(content)
  if (isJsonFile(placement) || path.endsWith(".json")) {
    const decoded = Schema.decodeUnknownEither(CanonicalJson.JsonValue)(content)
    if (Either.isLeft(decoded)) {
      issues.push(...Issue.fromParseError(path, decoded.left))
      return undefined
    }
    return encoder.encode(CanonicalJson.stringify(decoded.right))
  }
  issues.push(issue(path, "give a non-JSON file as text or bytes"))
  return undefined
}

/**
 * Every check, over files already turned into bytes. Files flare-config checked as a whole job for this target
 * (`trusted`) are not decoded and checked by it again; every other check applies to them.
 */
const assemble = (
  name: string,
  files: ReadonlyArray<readonly [string, Uint8Array]>,
  placements: ReadonlyMap<string, JobPath.Placement>,
  issues: Array<Issue.Issue>,
  options: Options,
  trusted = false
): Either.Either<JobPackage, InvalidJob> => {
  const target = options.target ?? "2.9"
  if (!JobPath.JOB_NAME_PATTERN.test(name) || name.length > JobPath.MAX_SEGMENT_BYTES) {
    issues.push(
      issue(
        undefined,
        `the job name ${JobPath.show(name)} must start with a letter or digit and hold only letters, digits, . _ -`
      )
    )
  }
  if (files.length > LIMITS.maxFiles) issues.push(issue(undefined, `more than ${LIMITS.maxFiles} files`))
  const total = files.reduce((sum, [, data]) => sum + data.length, 0)
  if (total > LIMITS.maxTotalBytes) issues.push(issue(undefined, `more than ${LIMITS.maxTotalBytes} bytes in all`))
  for (const [path, reason] of JobPath.collisions(files.map(([path]) => path))) issues.push(issue(path, reason))

  const texts: Record<string, string> = {}
  for (const [path, data] of trusted ? [] : files) {
    const placement = placements.get(path)
    if (placement === undefined) continue
    if (placement._tag === "Custom") {
      // flare-config only needs to know custom files exist (a trainer command names one); binary files stay opaque.
      texts[path] = lenientUtf8.decode(data)
      continue
    }
    let text: string
    try {
      text = utf8.decode(data)
    } catch {
      issues.push(issue(path, "not valid UTF-8"))
      continue
    }
    if (
      placement._tag === "Meta" || placement.file === "config_fed_server.json" ||
      placement.file === "config_fed_client.json"
    ) {
      texts[path] = text
    } else {
      try {
        JSON.parse(text)
      } catch (error) {
        issues.push(issue(path, `not valid JSON (${error instanceof Error ? error.message : String(error)})`))
      }
    }
  }
  if (issues.length === 0 && !trusted) issues.push(...flareConfigIssues(texts, target))
  if (issues.length > 0) return Either.left(new InvalidJob({ job: name, issues }))
  const sorted = [...files].sort(([a], [b]) => JobPath.compare(a, b))
  const jobFiles = sorted.map(([path, data]): JobFile => ({ path, data, sha256: sha256(data) }))
  return Either.right({
    name,
    target,
    files: jobFiles,
    digest: `sha256:${sha256(listing({ name, files: jobFiles }))}`
  })
}

/** The one place `@fedkit/flare-config` validates a job: decode the JSON files, then check the job as a whole. */
const flareConfigIssues = (texts: Readonly<Record<string, string>>, target: FlareTarget.FlareTarget) =>
  Either.match(Job.fromFiles(texts, { target }), {
    onLeft: (error) => error.issues,
    onRight: (job) => JobCheck.check(job)
  })

/**
 * Builds a package from a template's file map (relative path → content), plus optional custom code already read
 * (see `JobStore.readCustomFolder`) to place under `<app>/custom/`. Fails with every problem found. Nothing in it
 * waits: the answer is an `Either` (an `Effect` too).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { JobPackage } from "@fedkit/job-packager"
 *
 * const pkg = JobPackage.make("hello", {
 *   "meta.json": { name: "hello", min_clients: 2, deploy_map: { app: ["@ALL"] } },
 *   "app/config/config_fed_server.json": serverConfig,
 *   "app/config/config_fed_client.json": clientConfig,
 *   "app/custom/client.py": "import nvflare.client as flare\n..."
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  name: string,
  files: Readonly<Record<string, FileContent>>,
  options: Options & {
    readonly custom?: Readonly<Record<string, ReadonlyArray<readonly [string, Uint8Array]>>>
  } = {}
): Either.Either<JobPackage, InvalidJob> => {
  const issues: Array<Issue.Issue> = []
  const entries: Array<readonly [string, FileContent]> = Object.keys(files).map((path) => [path, files[path]!])
  for (const app of Object.keys(options.custom ?? {}).sort()) {
    for (const [path, data] of options.custom?.[app] ?? []) {
      const full = `${app}/custom/${path}`
      if (Object.prototype.hasOwnProperty.call(files, full)) {
        issues.push(issue(full, "given both in the file map and in the app's custom folder"))
      } else {
        entries.push([full, data])
      }
    }
  }
  const placements = new Map<string, JobPath.Placement>()
  const bytes: Array<readonly [string, Uint8Array]> = []
  for (const [path, content] of entries) {
    const placement = JobPath.check(path)
    if (Either.isLeft(placement)) {
      issues.push(issue(path, placement.left))
      continue
    }
    placements.set(path, placement.right)
    const data = toBytes(path, placement.right, content, issues)
    if (data !== undefined) bytes.push([path, data])
  }
  // flare-config's checked files, alone: the whole-job checks they passed are the ones this package would run.
  const trusted = options.custom === undefined && Job.checkedTarget(files) === (options.target ?? "2.9")
  return assemble(name, bytes, placements, issues, options, trusted)
}

/**
 * Builds a package from files read back (a job folder, a ZIP): the same checks as {@link make}, bytes kept as
 * they are, and an `Either` too.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromBytes = (
  name: string,
  files: ReadonlyArray<readonly [string, Uint8Array]>,
  options: Options = {}
): Either.Either<JobPackage, InvalidJob> => {
  const issues: Array<Issue.Issue> = []
  const placements = new Map<string, JobPath.Placement>()
  const kept: Array<readonly [string, Uint8Array]> = []
  for (const [path, data] of files) {
    const placement = JobPath.check(path)
    if (Either.isLeft(placement)) {
      issues.push(issue(path, placement.left))
      continue
    }
    placements.set(path, placement.right)
    kept.push([path, data])
  }
  return assemble(name, kept, placements, issues, options)
}

/**
 * One line per file of a manifest.
 *
 * @since 0.1.0
 * @category models
 */
export const ManifestFile = Schema.Struct({ path: Schema.String, size: Schema.Number, sha256: Schema.String })

/**
 * What `JobStore.write` puts next to a job: every file's size and SHA-256, the package digest and, when a ZIP was
 * written, the ZIP's own size and SHA-256.
 *
 * @since 0.1.0
 * @category models
 */
export const Manifest = Schema.Struct({
  format: Schema.Literal("fedkit-job-manifest/1"),
  job: Schema.String,
  target: Schema.String,
  digest: Schema.String,
  files: Schema.Array(ManifestFile),
  zip: Schema.optionalWith(Schema.Struct({ file: Schema.String, size: Schema.Number, sha256: Schema.String }), {
    exact: true
  })
})

/**
 * @since 0.1.0
 * @category models
 */
export type Manifest = typeof Manifest.Type

/**
 * @since 0.1.0
 * @category manifest
 */
export const manifest = (
  pkg: JobPackage,
  zip?: { readonly file: string; readonly data: Uint8Array }
): Manifest => ({
  format: "fedkit-job-manifest/1",
  job: pkg.name,
  target: pkg.target,
  digest: pkg.digest,
  files: pkg.files.map((file) => ({ path: file.path, size: file.data.length, sha256: file.sha256 })),
  ...(zip === undefined ? {} : { zip: { file: zip.file, size: zip.data.length, sha256: sha256(zip.data) } })
})

/**
 * The manifest as canonical JSON text. A `Manifest` holds only strings, numbers and arrays of them, and encodes to
 * itself, so it is written as it is (a server writing a job per request pays no schema walk for it).
 *
 * @since 0.1.0
 * @category manifest
 */
export const manifestJson = (value: Manifest): string => CanonicalJson.stringify(value as CanonicalJson.JsonValue)
