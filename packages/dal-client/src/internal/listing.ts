/**
 * Listing a directory key: every page (RFC 8288 `Link: <url>; rel="next"`, or the bare suffix form the official
 * client follows), then every listed directory whose children the listing did not include, without duplicates.
 * Pages are decoded as they arrive (keyArray.ts); limits: `maxListingPageBytes` per page, `maxListingEntries` in all.
 * Each key is checked as it arrives, then kept relative to the listed key in a compact sorted set (keyList.ts).
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { Listing } from "../DalClient.js"
import { type DalError, DalIntegrityError, DalUnsafePath, type Subject } from "../DalError.js"
import * as DalKey from "../DalKey.js"
import type { Response } from "../DalTransport.js"
import type { Exchange } from "./exchange.js"
import * as KeyArray from "./keyArray.js"
import * as KeyList from "./keyList.js"
import type { Transient } from "./retry.js"

const relIsNext = (params: string): boolean => {
  const rel = /(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^\s;"]+))/i.exec(params)
  const value = rel?.[1] ?? rel?.[2]
  return value !== undefined && value.toLowerCase().split(/\s+/).includes("next")
}

/**
 * The next page's URL from a `Link` header: RFC 8288 link-values resolved against the request URL, or (the
 * official client's form) a bare value appended to `{base}datasets/`.
 */
export const nextPage = (header: string | undefined, requestUrl: string, base: string): string | undefined => {
  const value = header?.trim()
  if (value === undefined || value === "") return undefined
  if (!value.startsWith("<")) return `${base}datasets/${value}`
  for (const match of value.matchAll(/<([^>]*)>([^,]*)/g)) {
    if (relIsNext(match[2] ?? "")) return new URL(match[1] ?? "", requestUrl).toString()
  }
  return undefined
}

/** Feeds a page's body to `onKey` as it arrives, within the page size limit. */
const decodePage = (
  exchange: Exchange,
  subject: Subject,
  response: Response,
  onKey: (key: string) => DalError | undefined
): Effect.Effect<void, Transient | DalError> =>
  Effect.async((resume) => {
    const limit = exchange.settings.maxListingPageBytes
    const tooLarge = () =>
      new DalIntegrityError({
        ...subject,
        reason: `a listing page is larger than ${limit} bytes (APH_MAX_LISTING_PAGE_BYTES)`
      })
    if (Number(response.headers["content-length"] ?? 0) > limit) {
      response.body.destroy()
      return resume(Effect.fail(tooLarge()))
    }
    let refused: DalError | undefined
    let size = 0
    const decoder = KeyArray.make((key) => {
      refused = onKey(key)
      return refused === undefined ? undefined : "refused"
    })
    const stop = (error: DalError) => {
      refused = error
      response.body.destroy()
      return false
    }
    response.body.attach({
      onData: (chunk) => {
        if (refused !== undefined) return false
        size += chunk.length
        if (size > limit) return stop(tooLarge())
        const problem = decoder.feed(chunk)
        if (problem === undefined) return true
        return stop(refused ?? new DalIntegrityError({ ...subject, reason: problem }))
      },
      onEnd: (failure) => {
        if (refused !== undefined) return resume(Effect.fail(refused))
        if (failure !== undefined) return resume(Effect.fail(exchange.bodyFailure(subject, failure)))
        const problem = decoder.end()
        resume(
          problem === undefined ? Effect.void : Effect.fail(new DalIntegrityError({ ...subject, reason: problem }))
        )
      }
    })
  })

/** What a directory key lists: the keys below it, relative to it (folders end in `/`), sorted, each checked safe. */
export interface Listed {
  readonly key: DalKey.DalKey
  readonly relative: KeyList.KeyList
}

/** An entry of a listing, from its key relative to the listed one (checked when it was listed). */
const entryAt = (key: DalKey.DalKey, relative: string): DalKey.Entry => {
  const directory = DalKey.isDirectory(relative)
  return {
    key: (key + relative) as DalKey.DalKey,
    segments: (directory ? relative.slice(0, -1) : relative).split("/"),
    directory
  }
}

/** The entries of a listing, made one at a time as they are iterated. */
export const entries = (listed: Listed): Listing => ({
  size: listed.relative.size,
  *[Symbol.iterator]() {
    const cursor = listed.relative.cursor()
    for (let relative = cursor.next(); relative !== undefined; relative = cursor.next()) {
      yield entryAt(listed.key, relative)
    }
  }
})

/** The first of `keys` that `list` does not hold. */
const firstMissing = (keys: KeyList.KeyList, list: KeyList.KeyList): string | undefined => {
  const cursor = keys.cursor()
  for (let key = cursor.next(); key !== undefined; key = cursor.next()) {
    if (!list.has(key)) return key
  }
  return undefined
}

/** Reads every page of one folder's listing, following its pagination links, within the DAL's base URL. */
const readPages = (
  exchange: Exchange,
  at: Subject,
  directory: string,
  pagesSeen: Set<string>,
  onKey: (key: string) => DalError | undefined
): Effect.Effect<void, DalError> =>
  Effect.gen(function*() {
    const { scrub, settings } = exchange
    let url: string | undefined = exchange.url(`datasets/${DalKey.encode(directory)}`)
    while (url !== undefined) {
      if (!url.startsWith(settings.url)) {
        // Following it would hand the bearer token to another server.
        return yield* new DalIntegrityError({
          ...at,
          reason: `the pagination link ${JSON.stringify(scrub.text(url))} leaves the DAL base URL`
        })
      }
      if (pagesSeen.has(url)) {
        return yield* new DalIntegrityError({
          ...at,
          reason: `the pagination links loop back to ${JSON.stringify(scrub.text(url))}`
        })
      }
      pagesSeen.add(url)
      const pageUrl: string = url
      url = yield* exchange.retrying(() =>
        Effect.gen(function*() {
          const response = yield* exchange.send(at, {
            method: "GET",
            url: pageUrl,
            headers: { accept: "application/json", "accept-encoding": "identity" }
          })
          yield* decodePage(exchange, at, response, onKey)
          return nextPage(response.headers["link"], pageUrl, settings.url)
        }).pipe(Effect.scoped)
      )
    }
  })

/**
 * Lists `key` (a directory key) and every directory below it: the keys below it, relative to it, sorted and checked
 * safe (see `Listed`; `entries` makes them into entries).
 */
export const list = (
  exchange: Exchange,
  subject: Subject,
  key: DalKey.DalKey
): Effect.Effect<Listed, DalError> =>
  Effect.gen(function*() {
    const { scrub, settings } = exchange
    const found = KeyList.builder()
    const elsewhere = KeyList.builder()
    let entries = 0
    const visited = new Set<string>([key])
    const pagesSeen = new Set<string>()
    const requests = yield* Effect.makeSemaphore(settings.maxWorkers)

    const listDirectory = (directory: string): Effect.Effect<void, DalError> =>
      Effect.gen(function*() {
        const at: Subject = { ...subject, key: directory }
        // Directories that have a listed descendant (their children came with this listing), and listed ones.
        const parents = new Set<string>()
        const listedDirectories = new Set<string>()
        const unsafe = (listed: string, reason: string) =>
          new DalUnsafePath({ ...at, entry: scrub.text(listed), reason })

        const onKey = (listed: string): DalError | undefined => {
          if (scrub.leaks(listed)) return unsafe(listed, "contains the bearer token (the DAL echoes credentials)")
          // A directory may list itself (an S3 folder marker): harmless, nothing to write.
          if (listed === directory) return undefined
          for (
            let i = listed.indexOf("/", directory.length);
            i !== -1 && i < listed.length - 1;
            i = listed.indexOf("/", i + 1)
          ) {
            parents.add(listed.slice(0, i + 1))
          }
          // Counted as listed, duplicates included: the bound is on what the DAL sends.
          if (++entries > settings.maxListingEntries) {
            return new DalIntegrityError({
              ...at,
              reason: `the listing has more than ${settings.maxListingEntries} entries (APH_MAX_LISTING_ENTRIES)`
            })
          }
          const placed = Either.flatMap(DalKey.entryOf(directory, listed), () => DalKey.entryOf(key, listed))
          if (Either.isLeft(placed)) {
            // A folder's listing may repeat a key listed elsewhere in the dataset: checked once all is listed.
            if (directory !== key && Either.isRight(DalKey.entryOf(key, listed))) {
              elsewhere.add(listed.slice(key.length))
              return undefined
            }
            return unsafe(listed, placed.left)
          }
          found.add(listed.slice(key.length))
          if (placed.right.directory && !visited.has(listed)) listedDirectories.add(listed)
          return undefined
        }

        // One permit per folder being read: its pages come one after another.
        yield* readPages(exchange, at, directory, pagesSeen, onKey).pipe(requests.withPermits(1))
        const descend: Array<string> = []
        for (const listed of listedDirectories) {
          if (!visited.has(listed) && !parents.has(listed)) {
            visited.add(listed)
            descend.push(listed)
          }
        }
        yield* Effect.forEach(descend, listDirectory, { concurrency: "unbounded", discard: true })
      })

    yield* listDirectory(key)
    const relative = found.finish()
    const added = firstMissing(elsewhere.finish(), relative)
    if (added !== undefined) {
      return yield* new DalUnsafePath({
        ...subject,
        entry: scrub.text(key + added),
        reason: "is not below the folder whose listing sent it"
      })
    }
    return { key, relative }
  })
