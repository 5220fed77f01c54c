/** Job packages as ZIPs and back (see `JobZip.ts`). */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as JobPackage from "../JobPackage.js"
import * as JobPath from "../JobPath.js"
import { InvalidArchive } from "../JobZip.js"
import * as zip from "./zip.js"

/** Every folder of the job, as entries (`name/`, `name/app/`, `name/app/config/`, …). */
const directories = (pkg: JobPackage.JobPackage): Array<string> => {
  const folders = new Set<string>([`${pkg.name}/`])
  for (const file of pkg.files) {
    const segments = file.path.split("/")
    for (let i = 1; i < segments.length; i++) folders.add(`${pkg.name}/${segments.slice(0, i).join("/")}/`)
  }
  return [...folders]
}

export const encode = (pkg: JobPackage.JobPackage): Uint8Array => {
  const entries: Array<zip.Entry> = [
    ...directories(pkg).map((name) => ({ name })),
    ...pkg.files.map((file) => ({ name: `${pkg.name}/${file.path}`, data: file.data }))
  ].sort((a, b) => JobPath.compare(a.name, b.name))
  return zip.write(entries)
}

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
