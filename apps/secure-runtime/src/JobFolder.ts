/**
 * The server's job writer: `<jobs-dir>/<id>/` and `<jobs-dir>/<id>.manifest.json` (the manifest of
 * `@fedkit/job-packager`), written in a stage folder and renamed into place, the manifest last. A job folder is
 * therefore complete whenever its manifest exists, and {@link sweep} removes whatever a killed process left. It
 * uses a handful of synchronous system calls, where `JobStore.write` (kept for the CLI: zips, replacing) costs
 * several times more per job, which matters at a thousand jobs a second.
 *
 * @since 0.1.0
 */
import { JobPackage, JobStore } from "@fedkit/job-packager"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"

const STAGE_SUFFIX = ".staging"
const MANIFEST_SUFFIX = ".manifest.json"

const failAt = (path: string) => (error: unknown) =>
  new JobStore.JobStoreError({ path, reason: error instanceof Error ? error.message : String(error) })

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * Whether `name` has the form of a job id (a lower-case UUID).
 *
 * @since 0.1.0
 */
export const isJobId = (name: string): boolean => JOB_ID.test(name)

/** Makes the folders above `path` in `root` that `made` does not hold yet, one `mkdir` each, outermost first. */
const makeParents = (root: string, path: string, made: Set<string>) => {
  for (let slash = path.indexOf("/"); slash !== -1; slash = path.indexOf("/", slash + 1)) {
    const parent = path.slice(0, slash)
    if (!made.has(parent)) {
      fs.mkdirSync(nodePath.join(root, parent), { mode: 0o755 })
      made.add(parent)
    }
  }
}

/** The write itself: the folder's path, or why it cannot be written. System errors are thrown to `write`. */
const writeStaged = (pkg: JobPackage.JobPackage, jobsDir: string): string | JobStore.JobStoreError => {
  const folder = nodePath.join(jobsDir, pkg.name)
  const manifest = nodePath.join(jobsDir, `${pkg.name}${MANIFEST_SUFFIX}`)
  if (fs.existsSync(folder) || fs.existsSync(manifest)) {
    return new JobStore.JobStoreError({ path: folder, reason: "already exists" })
  }
  const stage = nodePath.join(jobsDir, `.${pkg.name}${STAGE_SUFFIX}`)
  fs.mkdirSync(stage)
  let placed = false
  try {
    const root = nodePath.join(stage, pkg.name)
    fs.mkdirSync(root, { mode: 0o755 })
    const made = new Set<string>()
    for (const file of pkg.files) {
      makeParents(root, file.path, made)
      fs.writeFileSync(nodePath.join(root, file.path), file.data, { mode: 0o644, flag: "wx" })
    }
    const staged = nodePath.join(stage, `${pkg.name}${MANIFEST_SUFFIX}`)
    fs.writeFileSync(staged, JobPackage.manifestJson(JobPackage.manifest(pkg)), { mode: 0o644, flag: "wx" })
    fs.renameSync(root, folder)
    fs.renameSync(staged, manifest)
    placed = true
  } finally {
    // Both moved out: the stage is empty, one rmdir. Otherwise remove whatever is left of it.
    if (placed) fs.rmdirSync(stage)
    else fs.rmSync(stage, { recursive: true, force: true })
  }
  return folder
}

/**
 * Writes a package whose name is unique in `jobsDir` (a server-generated id); fails if it exists already.
 *
 * @since 0.1.0
 */
export const write = (pkg: JobPackage.JobPackage, jobsDir: string): Effect.Effect<string, JobStore.JobStoreError> =>
  Effect.try({ try: () => writeStaged(pkg, jobsDir), catch: failAt(jobsDir) }).pipe(
    Effect.flatMap((result) => typeof result === "string" ? Effect.succeed(result) : Effect.fail(result))
  )

/**
 * Removes what an interrupted write can leave in `jobsDir`: stage folders (this module's and `JobStore`'s), and job
 * folders without a manifest. Returns the names removed.
 *
 * @since 0.1.0
 */
export const sweep = (jobsDir: string): Effect.Effect<ReadonlyArray<string>, JobStore.JobStoreError> =>
  Effect.try({
    try: () => {
      const entries = fs.readdirSync(jobsDir, { withFileTypes: true })
      const present = new Set(entries.map((entry) => entry.name))
      const stale = entries.filter((entry) =>
        entry.isDirectory() && (
          (entry.name.startsWith(".") && (entry.name.endsWith(STAGE_SUFFIX) || /^\..+\.fedkit-/.test(entry.name))) ||
          (isJobId(entry.name) && !present.has(`${entry.name}${MANIFEST_SUFFIX}`))
        )
      ).map((entry) => entry.name)
      for (const name of stale) fs.rmSync(nodePath.join(jobsDir, name), { recursive: true, force: true })
      return stale
    },
    catch: failAt(jobsDir)
  })
