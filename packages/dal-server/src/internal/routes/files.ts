/** `GET|HEAD datasets/{file key}`: the bytes, whole or a range. */
import * as Effect from "effect/Effect"
import { type Access, mayServe } from "../access.js"
import { etagOf, NotFound, parseRange, resolveKey } from "../disk.js"
import { type Exchange, HttpError, withTransferSlot } from "../exchange.js"
import type { FaultRequest } from "../faults.js"
import type { Key } from "../keys.js"
import { fileRange, sendBody } from "../response.js"

/** Resolves a key to what would be served, refusing (as absent) what the access rules do not let through. */
export const resolveServed = (access: Access, key: Key) =>
  Effect.filterOrFail(
    resolveKey(access.rootReal, key),
    (entry) => mayServe(access, key, entry.real, key.isFolder),
    () => new NotFound({ reason: `${key.key} not found` })
  )

export const serveFile = (ex: Exchange, access: Access, key: Key, faultRequest: FaultRequest) =>
  Effect.gen(function*() {
    const { real, stats } = yield* resolveServed(access, key)
    const etag = etagOf(stats)
    const common = {
      "content-type": "application/octet-stream",
      "accept-ranges": "bytes",
      etag,
      "last-modified": stats.mtime.toUTCString()
    }
    const ifRange = ex.req.headers["if-range"] as string | undefined
    // If-Range with a stale validator means "send everything": the client's partial copy is of another version
    const range = ifRange !== undefined && ifRange !== etag
      ? { _tag: "Full" as const }
      : parseRange(ex.req.headers.range, stats.size)
    // a body of many bytes ties up buffers and a socket for a while; headers alone do not
    const transfer = <A, E>(send: Effect.Effect<A, E>) =>
      ex.req.method === "HEAD" || stats.size === 0 ? send : withTransferSlot(ex, send)
    switch (range._tag) {
      case "Unsatisfiable":
        return yield* new HttpError({
          status: 416,
          reason: `range ${ex.req.headers.range} is outside ${key.key} (${stats.size} bytes)`,
          headers: { "content-range": `bytes */${stats.size}` }
        })
      case "Full":
        return yield* transfer(sendBody(ex, 200, common, fileRange(real, 0, stats.size - 1), faultRequest))
      case "Partial":
        return yield* transfer(
          sendBody(
            ex,
            206,
            { ...common, "content-range": `bytes ${range.start}-${range.end}/${stats.size}` },
            fileRange(real, range.start, range.end),
            faultRequest
          )
        )
    }
  })
