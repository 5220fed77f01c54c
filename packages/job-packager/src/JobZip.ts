/**
 * A job as a reproducible ZIP, and back.
 *
 * The ZIP holds one top folder named after the job (FLARE's validator looks for `<job>/meta.json`), with a directory
 * entry for every folder (FLARE detects BYOC jobs with `getinfo("<job>/<app>/custom/")`, so `custom/` and `config/`
 * need one). Entries are sorted by UTF-8 bytes, stored uncompressed, dated 1980-01-01 00:00 with modes 0644/0755:
 * the same package gives the same bytes on any machine, whatever the files' timestamps, modes or the zlib build.
 *
 * Reading accepts ZIPs from other tools (deflate, no directory entries) and applies {@link JobPath}'s rules to
 * every entry before anything is extracted, so a hostile archive cannot write outside the job (zip-slip).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as zip from "./internal/zip.js"
import * as JobPackage from "./JobPackage.js"
import * as JobPath from "./JobPath.js"

/**
 * The bytes are not a ZIP this package reads, or it does not hold exactly one job folder.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidArchive extends Schema.TaggedError<InvalidArchive>()("InvalidArchive", {
  source: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.source} is not a readable job archive: ${this.reason}`
  }
}

/** Every folder of the job, as entries (`name/`, `name/app/`, `name/app/config/`, …). */
const directories = (pkg: JobPackage.JobPackage): Array<string> => {
  const folders = new Set<string>([`${pkg.name}/`])
  for (const file of pkg.files) {
    const segments = file.path.split("/")
    for (let i = 1; i < segments.length; i++) folders.add(`${pkg.name}/${segments.slice(0, i).join("/")}/`)
  }
  return [...folders]
}

/**
 * The package as ZIP bytes. Deterministic: equal packages give byte-identical archives.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (pkg: JobPackage.JobPackage): Uint8Array => {
  const entries: Array<zip.Entry> = [
    ...directories(pkg).map((name) => ({ name })),
    ...pkg.files.map((file) => ({ name: `${pkg.name}/${file.path}`, data: file.data }))
  ].sort((a, b) => JobPath.compare(a.name, b.name))
  return zip.write(entries)
}

/**
 * Reads a job archive back into a checked package. `source` names the archive in errors.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (
  bytes: Uint8Array,
  options: JobPackage.Options & { readonly source?: string } = {}
): Effect.Effect<JobPackage.JobPackage, InvalidArchive | JobPackage.InvalidJob> =>
  Effect.suspend((): Effect.Effect<JobPackage.JobPackage, InvalidArchive | JobPackage.InvalidJob> => {
    const source = options.source ?? "the archive"
    const fail = (reason: string) => Effect.fail(new InvalidArchive({ source, reason }))
    const entries = zip.read(bytes, {
      maxEntries: JobPackage.LIMITS.maxFiles * 2,
      maxTotalBytes: JobPackage.LIMITS.maxTotalBytes
    })
    if (entries instanceof zip.ZipError) return fail(entries.reason)
    const names = new Set<string>()
    let root: string | undefined
    const files: Array<readonly [string, Uint8Array]> = []
    for (const entry of entries) {
      if (names.has(entry.name)) return fail(`the entry ${JobPath.show(entry.name)} appears twice`)
      names.add(entry.name)
      const slash = entry.name.indexOf("/")
      const top = slash < 0 ? entry.name : entry.name.slice(0, slash)
      if (slash < 0 || !JobPath.JOB_NAME_PATTERN.test(top)) {
        return fail(`the entry ${JobPath.show(entry.name)} is not inside one job folder (<job>/meta.json, …)`)
      }
      if (root !== undefined && top !== root) {
        return fail(`the archive holds more than one top folder (${JobPath.show(root)}, ${JobPath.show(top)})`)
      }
      root = top
      const inner = entry.name.slice(slash + 1)
      if (entry.data === undefined) {
        // A directory entry creates nothing by itself, but it must be a folder the job could have.
        const folder = inner.replace(/\/$/, "")
        const problem = folder === "" ? Either.right(undefined) : JobPath.checkFolder(folder)
        if (Either.isLeft(problem)) {
          return fail(`the folder entry ${JobPath.show(entry.name)} is not allowed: ${problem.left}`)
        }
        continue
      }
      files.push([inner, entry.data])
    }
    if (root === undefined) return fail("the archive is empty")
    return JobPackage.fromBytes(root, files, options)
  })
