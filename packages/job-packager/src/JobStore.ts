/**
 * Jobs on disk: writing a package as a job folder, a reproducible ZIP and a manifest, atomically; reading a job
 * folder or ZIP back with the same checks; reading custom code folders.
 *
 * Writes are staged in a temporary folder next to the destination and renamed into place only once everything is
 * written, so a failure (or an interruption) leaves nothing behind: neither a half-written job nor the stage.
 *
 * @since 0.1.0
 */
import type { FlareTarget } from "@fedkit/flare-config"
import { Issue } from "@fedkit/flare-config"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as path from "node:path"
import * as fs from "./internal/files.js"
import * as JobPackage from "./JobPackage.js"
import * as JobPath from "./JobPath.js"
import * as JobZip from "./JobZip.js"

/**
 * Reading or writing failed on the file system.
 *
 * @since 0.1.0
 * @category errors
 */
export class JobStoreError extends Schema.TaggedError<JobStoreError>()("JobStoreError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.reason}`
  }
}

const failAt = (path: string) => (error: { readonly message: string }) =>
  new JobStoreError({ path, reason: error.message })

/** Folders whose contents are machine-specific caches, never part of a job. */
const SKIPPED_FOLDERS = new Set(["__pycache__"])
const isSkippedFile = (name: string) => name.endsWith(".pyc")

/**
 * Every regular file under `root` as `[relative path, bytes]`, sorted. Symbolic links and special files are refused
 * (FLARE refuses symlinks when it signs a job); `__pycache__` folders and `.pyc` files are skipped. A file whose
 * relative path breaks {@link JobPath}'s general rules is returned with no bytes, unread, for the caller to report.
 */
const walk = (
  root: string,
  check: (relative: string) => boolean
): Effect.Effect<
  { readonly files: Array<readonly [string, Uint8Array]>; readonly refused: Array<readonly [string, string]> },
  JobStoreError
> =>
  Effect.gen(function*() {
    const files: Array<readonly [string, Uint8Array]> = []
    const refused: Array<readonly [string, string]> = []
    let total = 0
    const visit = (relative: string): Effect.Effect<void, JobStoreError> =>
      Effect.gen(function*() {
        const full = relative === "" ? root : path.join(root, relative)
        const names = (yield* fs.readDirectory(full).pipe(Effect.mapError(failAt(full)))).sort(JobPath.compare)
        for (const name of names) {
          const child = relative === "" ? name : `${relative}/${name}`
          const childPath = path.join(root, child)
          const isLink = yield* fs.readLink(childPath).pipe(Effect.as(true), Effect.orElseSucceed(() => false))
          if (isLink) {
            refused.push([child, "is a symbolic link; FLARE refuses links in a job, copy the file instead"])
            continue
          }
          const info = yield* fs.stat(childPath).pipe(Effect.mapError(failAt(childPath)))
          if (info.type === "Directory") {
            if (!SKIPPED_FOLDERS.has(name)) yield* visit(child)
          } else if (info.type !== "File") {
            refused.push([child, `is a ${info.type.toLowerCase()}, not a regular file`])
          } else if (!isSkippedFile(name)) {
            if (files.length >= JobPackage.LIMITS.maxFiles) {
              return yield* new JobStoreError({ path: root, reason: `more than ${JobPackage.LIMITS.maxFiles} files` })
            }
            total += Number(info.size)
            if (total > JobPackage.LIMITS.maxTotalBytes) {
              return yield* new JobStoreError({
                path: root,
                reason: `more than ${JobPackage.LIMITS.maxTotalBytes} bytes in all`
              })
            }
            files.push([
              child,
              check(child) ? yield* fs.readFile(childPath).pipe(Effect.mapError(failAt(childPath))) : new Uint8Array(0)
            ])
          }
        }
      })
    yield* visit("")
    return { files, refused }
  })

const refusedAsInvalid = (job: string, refused: ReadonlyArray<readonly [string, string]>) =>
  new JobPackage.InvalidJob({
    job,
    issues: refused.map(([file, message]) => new Issue.Issue({ file, path: "$", message }))
  })

/**
 * The files of a custom code folder, as `[path inside custom/, bytes]`, for `JobPackage.make`'s `custom` option.
 *
 * @since 0.1.0
 * @category reading
 */
export const readCustomFolder = (
  dir: string,
  app: string
): Effect.Effect<
  ReadonlyArray<readonly [string, Uint8Array]>,
  JobStoreError | JobPackage.InvalidJob
> =>
  Effect.gen(function*() {
    const { files, refused } = yield* walk(
      dir,
      (relative) => JobPath.check(`${app}/custom/${relative}`)._tag === "Right"
    )
    if (refused.length > 0) {
      return yield* refusedAsInvalid(app, refused.map(([file, reason]) => [`${app}/custom/${file}`, reason] as const))
    }
    return files
  })

/**
 * A package from a template's file map plus custom code folders (app name → folder), as the Secure Runtime has
 * them after `template`.
 *
 * @since 0.1.0
 * @category reading
 */
export const pack = (input: {
  readonly name: string
  readonly files: Readonly<Record<string, JobPackage.FileContent>>
  readonly customFolders?: Readonly<Record<string, string>>
  readonly target?: FlareTarget.FlareTarget
}): Effect.Effect<JobPackage.JobPackage, JobStoreError | JobPackage.InvalidJob> =>
  Effect.gen(function*() {
    const custom: Record<string, ReadonlyArray<readonly [string, Uint8Array]>> = {}
    for (const [app, dir] of Object.entries(input.customFolders ?? {})) {
      if (!JobPath.JOB_NAME_PATTERN.test(app)) {
        return yield* refusedAsInvalid(input.name, [[app, "a custom folder's app name must be a FLARE job name"]])
      }
      custom[app] = yield* readCustomFolder(dir, app)
    }
    return yield* JobPackage.make(input.name, input.files, {
      custom,
      ...(input.target === undefined ? {} : { target: input.target })
    })
  })

const isZipFile = (file: string) =>
  fs.readRange(file, 0, 4).pipe(
    Effect.map((head) => head[0] === 0x50 && head[1] === 0x4b),
    Effect.orElseSucceed(() => false)
  )

/**
 * Reads a job folder or a job ZIP back into a checked package. A folder's name is the job's name.
 *
 * @since 0.1.0
 * @category reading
 */
export const read = (
  source: string,
  options: JobPackage.Options = {}
): Effect.Effect<
  JobPackage.JobPackage,
  JobStoreError | JobPackage.InvalidJob | JobZip.InvalidArchive
> =>
  Effect.gen(function*() {
    const info = yield* fs.stat(source).pipe(Effect.mapError(failAt(source)))
    if (info.type === "File") {
      if (!(yield* isZipFile(source))) {
        return yield* new JobStoreError({ path: source, reason: "is neither a job folder nor a ZIP archive" })
      }
      if (Number(info.size) > JobPackage.LIMITS.maxTotalBytes + 64 * 1024 * 1024) {
        return yield* new JobStoreError({ path: source, reason: "is too large for a job archive" })
      }
      const bytes = yield* fs.readFile(source).pipe(Effect.mapError(failAt(source)))
      return yield* JobZip.decode(bytes, { ...options, source })
    }
    if (info.type !== "Directory") {
      return yield* new JobStoreError({ path: source, reason: "is neither a job folder nor a ZIP archive" })
    }
    const name = path.basename(path.resolve(source))
    const { files, refused } = yield* walk(source, (relative) => JobPath.check(relative)._tag === "Right")
    const checked = yield* JobPackage.fromBytes(name, files, options).pipe(Effect.either)
    if (refused.length === 0) return yield* checked
    return yield* new JobPackage.InvalidJob({
      job: name,
      issues: [
        ...refusedAsInvalid(name, refused).issues,
        ...(checked._tag === "Left" ? checked.left.issues : [])
      ]
    })
  })

/**
 * Where {@link write} put things.
 *
 * @since 0.1.0
 * @category models
 */
export interface Written {
  readonly folder: string
  readonly zip?: string
  readonly manifest: string
  readonly digest: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface WriteOptions {
  /** The folder to write into; created when missing. */
  readonly outDir: string
  /** Also write `<name>.zip`. */
  readonly zip?: boolean
  /** Replace existing outputs of the same name (atomically, each); otherwise they make the write fail. */
  readonly replace?: boolean
}

/** Writes the job folder's files under `dir`, folders 0755 and files 0644. */
const writeTree = (pkg: JobPackage.JobPackage, dir: string) =>
  Effect.gen(function*() {
    yield* fs.makeDirectory(dir, { mode: 0o755 }).pipe(Effect.mapError(failAt(dir)))
    const made = new Set<string>()
    for (const file of pkg.files) {
      const segments = file.path.split("/")
      for (let i = 1; i < segments.length; i++) {
        const folder = segments.slice(0, i).join("/")
        if (made.has(folder)) continue
        made.add(folder)
        const target = path.join(dir, folder)
        yield* fs.makeDirectory(target, { mode: 0o755 }).pipe(Effect.mapError(failAt(target)))
      }
      const target = path.join(dir, file.path)
      yield* fs.writeFile(target, file.data, { mode: 0o644 }).pipe(Effect.mapError(failAt(target)))
    }
  })

/**
 * Writes `<outDir>/<name>/` (the job folder), `<outDir>/<name>.zip` when asked, and `<outDir>/<name>.manifest.json`
 * (every file's SHA-256, the package digest, the ZIP's SHA-256). Everything is written into a stage first and renamed
 * into place at the end; on any failure the stage is removed and outputs already renamed are rolled back.
 *
 * @since 0.1.0
 * @category writing
 */
export const write = (
  pkg: JobPackage.JobPackage,
  options: WriteOptions
): Effect.Effect<Written, JobStoreError> =>
  Effect.gen(function*() {
    const outDir = path.resolve(options.outDir)
    yield* fs.makeDirectory(outDir, { recursive: true }).pipe(Effect.mapError(failAt(outDir)))
    const outputs: Array<readonly [string, string]> = [[pkg.name, path.join(outDir, pkg.name)]]
    if (options.zip === true) outputs.push([`${pkg.name}.zip`, path.join(outDir, `${pkg.name}.zip`)])
    outputs.push([`${pkg.name}.manifest.json`, path.join(outDir, `${pkg.name}.manifest.json`)])
    if (options.replace !== true) {
      for (const [, target] of outputs) {
        if (yield* fs.exists(target).pipe(Effect.mapError(failAt(target)))) {
          return yield* new JobStoreError({
            path: target,
            reason: "already exists; remove it, or replace it (replace: true, fedkit-job pack --replace)"
          })
        }
      }
    }
    const stage = yield* fs.makeTempDirectory({ directory: outDir, prefix: `.${pkg.name}.fedkit-` }).pipe(
      Effect.mapError(failAt(outDir))
    )
    return yield* Effect.gen(function*() {
      yield* writeTree(pkg, path.join(stage, pkg.name))
      let zipBytes: Uint8Array | undefined
      if (options.zip === true) {
        zipBytes = JobZip.encode(pkg)
        const target = path.join(stage, `${pkg.name}.zip`)
        yield* fs.writeFile(target, zipBytes, { mode: 0o644 }).pipe(Effect.mapError(failAt(target)))
      }
      const manifest = JobPackage.manifest(
        pkg,
        zipBytes === undefined ? undefined : { file: `${pkg.name}.zip`, data: zipBytes }
      )
      const manifestFile = path.join(stage, `${pkg.name}.manifest.json`)
      yield* fs.writeFileString(manifestFile, JobPackage.manifestJson(manifest), { mode: 0o644 }).pipe(
        Effect.mapError(failAt(manifestFile))
      )
      yield* commit(stage, outputs)
      return {
        folder: path.join(outDir, pkg.name),
        ...(options.zip === true ? { zip: path.join(outDir, `${pkg.name}.zip`) } : {}),
        manifest: path.join(outDir, `${pkg.name}.manifest.json`),
        digest: pkg.digest
      }
    }).pipe(Effect.ensuring(fs.remove(stage, { recursive: true }).pipe(Effect.ignore)))
  })

/**
 * Renames each staged output over its target. An existing target is first moved into the stage, so it can be put
 * back if a later rename fails; the stage (with the replaced outputs) is removed by the caller.
 */
const commit = (stage: string, outputs: ReadonlyArray<readonly [string, string]>) =>
  Effect.gen(function*() {
    const done: Array<{ readonly target: string; readonly previous?: string }> = []
    const rollback = () =>
      Effect.forEach(
        [...done].reverse(),
        ({ previous, target }) =>
          fs.remove(target, { recursive: true }).pipe(
            Effect.zipRight(previous === undefined ? Effect.void : fs.rename(previous, target)),
            Effect.ignore
          ),
        { discard: true }
      )
    yield* Effect.forEach(outputs, ([name, target], index) =>
      Effect.gen(function*() {
        let previous: string | undefined
        if (yield* fs.exists(target).pipe(Effect.mapError(failAt(target)))) {
          previous = path.join(stage, `.replaced-${index}`)
          yield* fs.rename(target, previous).pipe(Effect.mapError(failAt(target)))
        }
        yield* fs.rename(path.join(stage, name), target).pipe(
          Effect.mapError(failAt(target)),
          Effect.tapError(() => previous === undefined ? Effect.void : fs.rename(previous, target).pipe(Effect.ignore))
        )
        done.push(previous === undefined ? { target } : { target, previous })
      }), { discard: true }).pipe(Effect.tapError(() => Effect.suspend(rollback)))
  }).pipe(Effect.uninterruptible)

/**
 * Writes only the job folder at `target` (its last segment need not be the job's name), atomically: for running a
 * package, or wherever a folder is all that is needed.
 *
 * @since 0.1.0
 * @category writing
 */
export const writeFolder = (
  pkg: JobPackage.JobPackage,
  target: string
): Effect.Effect<string, JobStoreError> =>
  Effect.gen(function*() {
    const resolved = path.resolve(target)
    const parent = path.dirname(resolved)
    yield* fs.makeDirectory(parent, { recursive: true }).pipe(Effect.mapError(failAt(parent)))
    if (yield* fs.exists(resolved).pipe(Effect.mapError(failAt(resolved)))) {
      return yield* new JobStoreError({ path: resolved, reason: "already exists" })
    }
    const stage = yield* fs.makeTempDirectory({ directory: parent, prefix: `.${path.basename(resolved)}.fedkit-` })
      .pipe(
        Effect.mapError(failAt(parent))
      )
    return yield* writeTree(pkg, path.join(stage, "job")).pipe(
      Effect.zipRight(fs.rename(path.join(stage, "job"), resolved).pipe(Effect.mapError(failAt(resolved)))),
      Effect.as(resolved),
      Effect.ensuring(fs.remove(stage, { recursive: true }).pipe(Effect.ignore))
    )
  })
