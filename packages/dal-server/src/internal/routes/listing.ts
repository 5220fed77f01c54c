/** `GET|HEAD datasets/{folder key}/`: every file below it (and folders, on request), a page at a time. */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { type Access, mayServe } from "../access.js"
import { compareKeys, listFolder } from "../disk.js"
import { type Exchange, jsonHeaders } from "../exchange.js"
import type { FaultRequest } from "../faults.js"
import { BadRequest, encodeKey, type Key, parseKey } from "../keys.js"
import { sendBody } from "../response.js"
import { resolveServed } from "./files.js"

/**
 * The cursor is the last key of the previous page, so pages stay consistent while files are added. Anything that is
 * not such a key of this folder, in canonical base64url, was not made by this server.
 */
const decodeCursor = (cursor: string | null, folder: Key): Either.Either<string | undefined, BadRequest> => {
  if (cursor === null) return Either.right(undefined)
  const decoded = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, "base64url") : undefined
  const key = decoded?.toString("utf8")
  const valid = decoded !== undefined && key !== undefined && decoded.toString("base64url") === cursor &&
    Buffer.from(key, "utf8").equals(decoded) && key.startsWith(folder.key) && key !== folder.key
  return valid ? Either.right(key) : Either.left(
    new BadRequest({
      reason: `invalid cursor "${
        cursor.slice(0, 40)
      }" for ${folder.key}: follow the Link header of the previous page as sent`
    })
  )
}

export const serveListing = (
  ex: Exchange,
  access: Access,
  key: Key,
  query: URLSearchParams,
  faultRequest: FaultRequest
) =>
  Effect.gen(function*() {
    const { listing, rootReal } = ex.config
    const folder = yield* resolveServed(access, key)
    const entries = yield* listFolder(rootReal, key.key, folder.real, (entry, real, isFolder) =>
      Either.match(parseKey(entry), {
        onLeft: () =>
          false,
        onRight: (entryKey) =>
          mayServe(access, entryKey, real, isFolder)
      }))
    const keys = listing.folderEntries ? entries : entries.filter((entry) =>
      !entry.endsWith("/")
    )
    const after = yield* decodeCursor(query.get("cursor"), key)
    const from = after === undefined ? 0 : keys.findIndex((k) => compareKeys(k, after) > 0)
    const page = from === -1 ? [] : keys.slice(from, from + listing.pageSize)
    const last = page[page.length - 1]
    const headers: Record<string, string> = {}
    if (from !== -1 && from + listing.pageSize < keys.length && last !== undefined) {
      const next = `${encodeKey(key.key)}?cursor=${Buffer.from(last, "utf8").toString("base64url")}`
      // the official client appends the raw header value to `{APH_API_DAL_URL}datasets/`
      headers.link = listing.pageLinks === "suffix"
        ? next
        : `<${listing.publicUrl()}datasets/${next}>; rel="next"`
    }
    return yield* sendBody(
      ex,
      200,
      { ...jsonHeaders, ...headers },
      Buffer.from(JSON.stringify(page), "utf8"),
      faultRequest
    )
  })
