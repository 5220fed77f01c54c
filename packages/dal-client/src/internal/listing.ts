/**
 * Listing a directory key: every page (RFC 8288 `Link: <url>; rel="next"`, or the bare suffix form the official
 * client follows), then every listed directory whose children the listing did not include, without duplicates.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { type DalError, DalIntegrityError, DalUnsafePath, type Subject } from "../DalError.js"
import * as DalKey from "../DalKey.js"
import type { Http, Transient } from "./http.js"

const Page = Schema.parseJson(Schema.Array(Schema.String))
const decodePage = Schema.decodeUnknownEither(Page)

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

/** Every entry below `key` (a directory key), sorted by key. */
export const list = (http: Http, subject: Subject, key: string): Effect.Effect<ReadonlyArray<DalKey.Entry>, DalError> =>
  Effect.gen(function*() {
    const found = new Map<string, DalKey.Entry>()
    const visited = new Set<string>([key])
    const pagesSeen = new Set<string>()
    const requests = yield* Effect.makeSemaphore(http.settings.maxWorkers)

    const page = (url: string, directory: string) =>
      http.retrying((): Effect.Effect<
        { keys: ReadonlyArray<string>; next: string | undefined },
        Transient | DalError
      > =>
        Effect.scoped(
          Effect.gen(function*() {
            const reply = yield* http.send({ ...subject, key: directory }, {
              method: "GET",
              url,
              headers: { accept: "application/json" }
            })
            const text = yield* http.text({ ...subject, key: directory }, reply)
            const keys = yield* Either.mapLeft(
              decodePage(text),
              (e) =>
                new DalIntegrityError({
                  ...subject,
                  key: directory,
                  reason: `the listing is not a JSON array of keys (${
                    ParseResult.TreeFormatter.formatErrorSync(e).split("\n").join(" ").slice(0, 160)
                  })`
                })
            )
            return { keys, next: nextPage(reply.headers["link"], url, http.settings.url) }
          })
        )
      ).pipe(requests.withPermits(1))

    const listDirectory = (directory: string): Effect.Effect<void, DalError> =>
      Effect.gen(function*() {
        const keys: Array<string> = []
        let url: string | undefined = http.url(`datasets/${DalKey.encode(directory)}`)
        while (url !== undefined) {
          if (!url.startsWith(http.settings.url)) {
            // Following it would hand the bearer token to another server.
            return yield* new DalIntegrityError({
              ...subject,
              key: directory,
              reason: `the pagination link ${JSON.stringify(url)} leaves the DAL base URL`
            })
          }
          if (pagesSeen.has(url)) {
            return yield* new DalIntegrityError({
              ...subject,
              key: directory,
              reason: `the pagination links loop back to ${JSON.stringify(url)}`
            })
          }
          pagesSeen.add(url)
          const result: { keys: ReadonlyArray<string>; next: string | undefined } = yield* page(url, directory)
          keys.push(...result.keys)
          url = result.next
        }
        // Directories that have a listed descendant: their children came with this listing.
        const parents = new Set<string>()
        for (const listed of keys) {
          for (
            let i = listed.indexOf("/", directory.length);
            i !== -1 && i < listed.length - 1;
            i = listed.indexOf("/", i + 1)
          ) {
            parents.add(listed.slice(0, i + 1))
          }
        }
        const descend: Array<string> = []
        for (const listed of keys) {
          // A directory may list itself (an S3 folder marker): harmless, nothing to write.
          if (listed === directory || found.has(listed)) continue
          const placed = Either.flatMap(DalKey.entryOf(directory, listed), () => DalKey.entryOf(key, listed))
          if (Either.isLeft(placed)) {
            return yield* new DalUnsafePath({ ...subject, key: directory, entry: listed, reason: placed.left })
          }
          found.set(listed, placed.right)
          if (placed.right.directory && !visited.has(listed) && !parents.has(listed)) {
            visited.add(listed)
            descend.push(listed)
          }
        }
        yield* Effect.forEach(descend, listDirectory, { concurrency: "unbounded", discard: true })
      })

    yield* listDirectory(key)
    return [...found.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  })
