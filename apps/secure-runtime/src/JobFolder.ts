/**
 * The server's job writer: `<jobs-dir>/<id>/` and `<jobs-dir>/<id>.manifest.json` (the manifest of
 * `@fedkit/job-packager`). The files are written in a stage folder, `.<id>.staging/`, which is renamed to the job
 * folder; the manifest is written beside it, `.<id>.staging.manifest.json`, and renamed into place last. A job is
 * therefore complete whenever its manifest exists, and {@link sweep} removes whatever a killed process left.
 *
 * All of it is synchronous and takes a `mkdir` per folder, three calls per file and two renames
 * (21 system calls for a FLARE job of four files): at a thousand jobs a second, each call saved counts. `JobStore.write`
 * (kept for the CLI: zips, replacing) costs several times more per job.
 *
 * @since 0.1.0
 */
import { JobPackage, JobStore } from "@fedkit/job-packager"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fs from "node:fs"
import * as nodePath from "node:path"

const STAGE_SUFFIX = ".staging"
const MANIFEST_SUFFIX = ".manifest.json"
const STAGED_MANIFEST_SUFFIX = `${STAGE_SUFFIX}${MANIFEST_SUFFIX}`

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
      fs.mkdirSync(`${root}/${parent}`, { mode: 0o755 })
      made.add(parent)
    }
  }
}

/** Runs `operation`: what it threw, or `undefined`. */
const attempt = (operation: () => void): unknown => {
  try {
    operation()
    return undefined
  } catch (error) {
    return error
  }
}

/** Renaming a folder onto a folder that holds something fails with one of these. */
const isNameTaken = (error: unknown) =>
  error instanceof Error && "code" in error && (error.code === "ENOTEMPTY" || error.code === "EEXIST")

/** The write itself: the folder's path, or why it cannot be written. System errors are thrown to `write`. */
const writeStaged = (pkg: JobPackage.JobPackage, jobsDir: string): string | JobStore.JobStoreError => {
  const folder = nodePath.join(jobsDir, pkg.name)
  const manifest = `${folder}${MANIFEST_SUFFIX}`
  const stage = nodePath.join(jobsDir, `.${pkg.name}${STAGE_SUFFIX}`)
  const stagedManifest = `${stage}${MANIFEST_SUFFIX}`
  // Fails if another write of the same name is under way.
  fs.mkdirSync(stage, { mode: 0o755 })
  // Where this write's folder is: the stage, then the job folder until its manifest is in place.
  let placed = stage
  let done = false
  try {
    const made = new Set<string>()
    for (const file of pkg.files) {
      makeParents(stage, file.path, made)
      fs.writeFileSync(`${stage}/${file.path}`, file.data, { mode: 0o644, flag: "wx" })
    }
    fs.writeFileSync(stagedManifest, JobPackage.manifestJson(JobPackage.manifest(pkg)), { mode: 0o644, flag: "wx" })
    // A job that exists has a folder, which the rename does not replace: no existence check (a lookup as costly as a
    // mkdir) before writing a job whose name is a new UUID.
    const moved = attempt(() => fs.renameSync(stage, folder))
    if (moved !== undefined) {
      return isNameTaken(moved)
        ? new JobStore.JobStoreError({ path: folder, reason: "already exists" })
        : failAt(folder)(moved)
    }
    placed = folder
    fs.renameSync(stagedManifest, manifest)
    done = true
  } finally {
    if (!done) {
      fs.rmSync(placed, { recursive: true, force: true })
      fs.rmSync(stagedManifest, { force: true })
    }
  }
  return folder
}

/**
 * Writes a package whose name is unique in `jobsDir` (a server-generated id) now, when called; fails if it exists
 * already. An `Either`, so a caller without a fiber reads the answer as it is.
 *
 * @since 0.1.0
 */
export const writeNow = (
  pkg: JobPackage.JobPackage,
  jobsDir: string
): Either.Either<string, JobStore.JobStoreError> => {
  let result: string | JobStore.JobStoreError
  try {
    result = writeStaged(pkg, jobsDir)
  } catch (error) {
    return Either.left(failAt(jobsDir)(error))
  }
  return typeof result === "string" ? Either.right(result) : Either.left(result)
}

/**
 * {@link writeNow}, when the effect runs.
 *
 * @since 0.1.0
 */
export const write = (pkg: JobPackage.JobPackage, jobsDir: string): Effect.Effect<string, JobStore.JobStoreError> =>
  Effect.suspend(() => writeNow(pkg, jobsDir))

/**
 * Removes what an interrupted write can leave in `jobsDir`: stage folders (this module's and `JobStore`'s), staged
 * manifests, and job folders without a manifest. Returns the names removed.
 *
 * @since 0.1.0
 */
export const sweep = (jobsDir: string): Effect.Effect<ReadonlyArray<string>, JobStore.JobStoreError> =>
  Effect.try({
    try: () => {
      const entries = fs.readdirSync(jobsDir, { withFileTypes: true })
      const present = new Set(entries.map((entry) => entry.name))
      const stale = entries.filter((entry) =>
        entry.isDirectory()
          ? (entry.name.startsWith(".") && (entry.name.endsWith(STAGE_SUFFIX) || /^\..+\.fedkit-/.test(entry.name))) ||
            (isJobId(entry.name) && !present.has(`${entry.name}${MANIFEST_SUFFIX}`))
          : entry.name.startsWith(".") && entry.name.endsWith(STAGED_MANIFEST_SUFFIX)
      ).map((entry) => entry.name)
      for (const name of stale) fs.rmSync(nodePath.join(jobsDir, name), { recursive: true, force: true })
      return stale
    },
    catch: failAt(jobsDir)
  })
