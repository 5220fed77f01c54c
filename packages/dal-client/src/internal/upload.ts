/**
 * Uploading a derived dataset's file (`PUT dataset/{name}/{file}`), streamed from memory or from a file, with the
 * same retries as every other request.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { createReadStream } from "node:fs"
import type { Uploaded } from "../DalClient.js"
import { type DalError, DalInvalidArgument, type Subject } from "../DalError.js"
import * as DalKey from "../DalKey.js"
import type { Exchange } from "./exchange.js"
import * as Files from "./files.js"
import { fileError } from "./safeFs.js"

// The DAL's answer to an upload is a short acknowledgement; anything near this is not one.
const maxAnswerBytes = 1024 * 1024

export const putDerived = (
  exchange: Exchange,
  name: string,
  file: string,
  source: Uint8Array | { readonly path: string }
): Effect.Effect<Uploaded, DalError> =>
  Effect.gen(function*() {
    const subject: Subject = { operation: "upload", datasetId: name, key: file }
    const nameSegments = DalKey.relativeSegments(name)
    if (Either.isLeft(nameSegments) || nameSegments.right.length !== 1) {
      return yield* new DalInvalidArgument({
        ...subject,
        argument: "derived dataset name",
        reason: Either.isLeft(nameSegments) ? nameSegments.left : "must be a single path segment"
      })
    }
    const fileSegments = yield* Either.mapLeft(
      DalKey.relativeSegments(file),
      (reason) => new DalInvalidArgument({ ...subject, argument: "file name", reason })
    )
    const url = exchange.url(`dataset/${encodeURIComponent(name)}/${fileSegments.map(encodeURIComponent).join("/")}`)
    const body = source instanceof Uint8Array
      ? { open: () => source, length: source.length }
      : {
        open: () => createReadStream(source.path),
        length: Number((yield* Files.stat(source.path).pipe(Effect.mapError(fileError(subject, source.path)))).size)
      }
    yield* exchange.retrying(() =>
      Effect.flatMap(
        exchange.send(subject, { method: "PUT", url, headers: { "content-type": "application/octet-stream" }, body }),
        (response) => exchange.collect(subject, response, { bytes: maxAnswerBytes, what: "the answer to the upload" })
      ).pipe(Effect.scoped)
    )
    return { name, file, bytes: body.length }
  })
