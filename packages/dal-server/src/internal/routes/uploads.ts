/** `PUT dataset/{name}/{file}`: derived data, stored atomically below the derived folder. */
import * as Effect from "effect/Effect"
import { randomUUID } from "node:crypto"
import { createWriteStream } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Transform } from "node:stream"
import { pipeline } from "node:stream/promises"
import { DiskError, isInside, resolveInside, tryFs } from "../disk.js"
import { type Exchange, headerFault, HttpError, requireGrant, ResponseCut, withTransferSlot } from "../exchange.js"
import { BadRequest, maxPathBytes, unsafeSegment } from "../keys.js"
import { sendJson } from "../response.js"

const derivedName = /^[A-Za-z0-9_-]{1,128}$/

// A Node stream fails its pipeline with an Error; this one never leaves this module: it becomes the 413 HttpError below.
class UploadTooLarge extends Error {}

/** Passes bytes through until more than `max` have come, then fails the pipeline. */
const limitBytes = (max: number) => {
  let seen = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length
      callback(seen > max ? new UploadTooLarge() : null, seen > max ? undefined : chunk)
    }
  })
}

/** The rest of the body is not read: the connection closes after the answer, so it cannot be mistaken for a request. */
const tooLarge = (max: number) =>
  new HttpError({
    status: 413,
    reason: `the upload is larger than ${max} bytes (--max-upload-bytes); store less or raise the limit`,
    headers: { connection: "close" }
  })

/** Streams the request body to a temp file next to the target, then renames it: readers never see a partial file. */
export const receiveDerived = (ex: Exchange, rest: string) =>
  Effect.gen(function*() {
    const grant = yield* requireGrant(ex)
    ex.key = rest
    const [name = "", ...file] = rest.split("/")
    if (!derivedName.test(name)) {
      return yield* new BadRequest({ reason: `derived dataset name "${name}" must be 1-128 of A-Z a-z 0-9 - _` })
    }
    const problem = file.length === 0 ? "missing file name" : file.map(unsafeSegment).find((p) => p !== undefined)
    if (problem !== undefined) return yield* new BadRequest({ reason: `file name "${file.join("/")}": ${problem}` })
    if (grant !== undefined && grant.derived !== true) {
      return yield* new HttpError({ status: 403, reason: `token "${grant.name}" may not write derived data` })
    }
    yield* headerFault(ex, { method: "PUT", endpoint: "dataset", key: rest })
    const { derivedDir, maxUploadBytes, rootReal } = ex.config
    const announced = Number(ex.req.headers["content-length"] ?? 0)
    if (announced > maxUploadBytes) return yield* tooLarge(maxUploadBytes)
    const pathBytes = Buffer.byteLength(path.join(derivedDir, name, ...file), "utf8")
    if (pathBytes >= maxPathBytes) {
      return yield* new BadRequest({
        reason: `file name "${
          file.join("/").slice(0, 40)
        }…" makes a path of ${pathBytes} bytes; paths are limited to ${maxPathBytes} bytes`
      })
    }
    const parent = path.join(derivedDir, name, ...file.slice(0, -1))
    yield* tryFs(parent, () => fs.mkdir(parent, { recursive: true })).pipe(
      Effect.catchIf((e) => e.code === "EEXIST" || e.code === "ENOTDIR", () =>
        new HttpError({ status: 409, reason: `cannot create the folder for ${rest}: a file is in the way` }))
    )
    // symlinks below the derived folder must not lead writes outside it
    const derivedReal = yield* tryFs(derivedDir, () =>
      fs.realpath(derivedDir))
    const parentReal = yield* resolveInside(derivedReal, [path.relative(derivedDir, parent)], rest)
    if (!parentReal.stats.isDirectory()) {
      return yield* new HttpError({ status: 409, reason: `cannot store ${rest}: a file is in the way` })
    }
    const target = path.join(parentReal.real, file[file.length - 1]!)
    const temp = path.join(parentReal.real, `.fedkit-upload-${randomUUID()}`)
    yield* withTransferSlot(
      ex,
      Effect.tryPromise({
        try: async (signal) => {
          await pipeline(ex.req, limitBytes(maxUploadBytes), createWriteStream(temp, { flags: "wx" }), { signal })
          // fsync before the rename, so a crash cannot leave a renamed but empty file
          const handle = await fs.open(temp, "r+")
          await handle.sync().finally(() => handle.close())
        },
        catch: (cause) => {
          if (cause instanceof UploadTooLarge) return tooLarge(maxUploadBytes)
          // the file system failed (disk full, permissions): a server fault, not a vanished client
          if (typeof (cause as { syscall?: unknown }).syscall === "string") return new DiskError({ path: temp, cause })
          return new ResponseCut({ reason: `upload interrupted: ${String(cause)}` })
        }
      }).pipe(
        Effect.zipRight(
          tryFs(target, () => fs.rename(temp, target)).pipe(
            Effect.catchIf((e) =>
              ["EISDIR", "ENOTEMPTY", "EEXIST", "ENOTDIR"].includes(e.code ?? ""), () =>
              new HttpError({ status: 409, reason: `cannot store ${rest}: a folder is in the way` }))
          )
        ),
        Effect.onError(() =>
          Effect.ignore(tryFs(temp, () => fs.rm(temp, { force: true })))
        )
      )
    )
    const size = (yield* tryFs(target, () => fs.stat(target))).size
    ex.received = size
    const rel = path.relative(rootReal, target)
    const key = isInside(rootReal, target) ? `s3://${rel.split(path.sep).join("/")}` : undefined
    return yield* sendJson(ex, 201, { name, file: file.join("/"), bytes: size, ...(key === undefined ? {} : { key }) })
  })
