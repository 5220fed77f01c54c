/**
 * A local Data Access Layer (DAL) over a folder: `ROOT/<bucket>/<key…>` is served as `s3://<bucket>/<key…>` with the
 * Apheris DAL HTTP API (`GET datasets/{key}`, `GET policies/{key}`, `PUT dataset/{name}/{file}`).
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberId from "effect/FiberId"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs/promises"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { DalServerError } from "./DalServerError.js"
import { makeAuthenticator } from "./internal/auth.js"
import { type DiskError, tryFs } from "./internal/disk.js"
import * as faults from "./internal/faults.js"
import { handle, type RequestLogEntry as LogEntry } from "./internal/handler.js"
import { formatIssues } from "./internal/jsonFile.js"
import { parseKey } from "./internal/keys.js"
import { Policies } from "./PolicyFile.js"

/**
 * @since 0.1.0
 */
export { DalServerError } from "./DalServerError.js"

/**
 * A bearer token and what it may do. Keys starting with one of `prefixes` may be read; `derived` allows uploads.
 *
 * @since 0.1.0
 */
export interface TokenGrant {
  readonly name: string
  readonly token: Redacted.Redacted<string>
  readonly prefixes: ReadonlyArray<string>
  readonly derived?: boolean
}

/**
 * What an injected fault does:
 * - `Status`: answer `status` (e.g. 503, 429) with a JSON error and an optional `Retry-After`.
 * - `ResetMidBody`: send the headers and up to `afterBytes` body bytes, then reset the connection (TCP RST).
 * - `TruncateBody`: announce the full `Content-Length`, send `afterBytes` bytes, then close cleanly (FIN).
 * - `StallHeaders`: wait `millis` before answering at all.
 * - `StallBody`: send `afterBytes` bytes, pause `millis`, then send the rest.
 *
 * @since 0.1.0
 */
export type Fault = faults.Fault

/**
 * When a fault fires. All given criteria must match: `method`, `endpoint`, and `key` (a string is a prefix, a
 * RegExp is tested). The key is the decoded `s3://…` key, or `<name>/<file>` for uploads. A rule fires `times`
 * times (default 1, `Infinity` for always) and then the server behaves normally. Rules are tried in order.
 *
 * @since 0.1.0
 */
export type FaultRule = faults.FaultRule

/**
 * @since 0.1.0
 */
export type RequestLogEntry = LogEntry

/**
 * @since 0.1.0
 */
export interface Options {
  /** The data folder: `ROOT/<bucket>/<path>` is `s3://<bucket>/<path>`. */
  readonly root: string
  /** Default `127.0.0.1`. */
  readonly host?: string
  /** Default 0: a free port (read it from `url`). */
  readonly port?: number
  /** Keys per listing page; more follow through a `Link` header (see `pageLinks`). Default 1000. */
  readonly pageSize?: number
  /**
   * List folder keys (`s3://b/dir/sub/`) beside file keys, the shape the platform tutorial shows. Default false:
   * file keys only, since the official Python client fetches every listed key as a file.
   */
  readonly folderEntries?: boolean
  /**
   * The form of the next-page `Link` header. `suffix` (default): the bare `s3://b/dir/?cursor=…` that the official
   * Python client appends to `{APH_API_DAL_URL}datasets/`. `rfc8288`: `<{publicUrl}datasets/…?cursor=…>; rel="next"`.
   */
  readonly pageLinks?: "suffix" | "rfc8288"
  /** Base URL clients reach this server at (e.g. behind a proxy), for `rfc8288` links. Default: the listening URL. */
  readonly publicUrl?: string
  /** Where `PUT dataset/{name}/{file}` stores files. Default `ROOT/derived` (so uploads read back as `s3://derived/…`). */
  readonly derivedDir?: string
  /** Without tokens, authentication is disabled (a warning is logged). An empty array refuses every request. */
  readonly tokens?: ReadonlyArray<TokenGrant>
  /** Key or folder key (ending in "/") → policy JSON. The key's own policy wins, then the nearest folder's. */
  readonly policies?: Record<string, unknown>
  readonly faults?: ReadonlyArray<FaultRule>
  /**
   * Wait this long before answering each request (after reading its headers), to imitate a DAL in front of object
   * storage, where every request pays a round trip. Default 0.
   */
  readonly latencyMillis?: number
  /** A connection that has not sent a complete request head within this time gets 408 and is closed. Default 30 s. */
  readonly headersTimeoutMillis?: number
  /**
   * A connection on which nothing moves for this long is closed: an idle keep-alive connection, an upload that
   * stalls, or a download whose client stopped reading (its transfer slot and read buffers are then freed).
   * Default 60 s.
   */
  readonly idleTimeoutMillis?: number
  /** File downloads and uploads in progress at once; past it they get 503 with `Retry-After: 1`. Default 64. */
  readonly maxTransfers?: number
  /** Largest derived-data upload; a larger one gets 413 and nothing is stored. Default 512 MiB. */
  readonly maxUploadBytes?: number
}

/**
 * Defaults of the limits, documented in the README.
 *
 * @since 0.1.0
 */
export const defaults = {
  pageSize: 1000,
  headersTimeoutMillis: 30_000,
  idleTimeoutMillis: 60_000,
  maxTransfers: 64,
  maxUploadBytes: 512 * 1024 * 1024
} as const

/**
 * A running server.
 *
 * @since 0.1.0
 */
export interface Running {
  /** Base URL with a trailing slash, e.g. `http://127.0.0.1:41234/`: use it as `APH_API_DAL_URL`. */
  readonly url: string
  /** The data folder being served (absolute). */
  readonly root: string
  /**
   * Every finished request so far, oldest first. Waits for responses already sent in full (or cut by a fault) to be
   * recorded, so right after a client has read a response its entry is there.
   */
  readonly requests: Effect.Effect<ReadonlyArray<RequestLogEntry>>
}

/**
 * @since 0.1.0
 */
export class DalServer extends Context.Tag("@fedkit/dal-server/DalServer")<DalServer, Running>() {}

const invalid = (detail: string) => new DalServerError({ reason: "InvalidOptions", detail })

const positive = (name: string, value: number) =>
  Number.isSafeInteger(value) && value >= 1
    ? Effect.succeed(value)
    : Effect.fail(invalid(`${name} must be a positive integer, got ${value}`))

const checkOptions = (options: Options) =>
  Effect.gen(function*() {
    const pageSize = yield* positive("pageSize", options.pageSize ?? defaults.pageSize)
    const headersTimeoutMillis = yield* positive(
      "headersTimeoutMillis",
      options.headersTimeoutMillis ?? defaults.headersTimeoutMillis
    )
    const idleTimeoutMillis = yield* positive(
      "idleTimeoutMillis",
      options.idleTimeoutMillis ?? defaults.idleTimeoutMillis
    )
    const maxTransfers = yield* positive("maxTransfers", options.maxTransfers ?? defaults.maxTransfers)
    const maxUploadBytes = yield* positive("maxUploadBytes", options.maxUploadBytes ?? defaults.maxUploadBytes)
    const latencyMillis = options.latencyMillis ?? 0
    if (!Number.isSafeInteger(latencyMillis) || latencyMillis < 0) {
      return yield* invalid(`latencyMillis must be a non-negative integer, got ${latencyMillis}`)
    }
    const publicUrl = options.publicUrl === undefined ? undefined : yield* checkPublicUrl(options.publicUrl)
    const port = options.port ?? 0
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      return yield* invalid(`port must be an integer from 0 to 65535, got ${port}`)
    }
    const rootReal = yield* Effect.tryPromise(async () => {
      const real = await fs.realpath(options.root)
      return (await fs.stat(real)).isDirectory() ? real : undefined
    }).pipe(
      Effect.orElseSucceed(() => undefined),
      Effect.filterOrFail(
        (real): real is string => real !== undefined,
        () =>
          new DalServerError({
            reason: "InvalidOptions",
            path: options.root,
            detail: "the data root must be an existing folder"
          })
      )
    )
    const policies = options.policies ?? {}
    // validated only: served exactly as given, unknown fields and key order included
    yield* Schema.decodeUnknown(Policies, { errors: "all" })(policies).pipe(
      Effect.mapError((error) => invalid(`invalid policies: ${formatIssues(error)}`))
    )
    for (const grant of options.tokens ?? []) {
      const bad = grant.prefixes.find((prefix) => !prefix.startsWith("s3://"))
      if (bad !== undefined) return yield* invalid(`token "${grant.name}": prefix "${bad}" must start with s3://`)
    }
    return {
      pageSize,
      publicUrl,
      latencyMillis,
      headersTimeoutMillis,
      idleTimeoutMillis,
      maxTransfers,
      maxUploadBytes,
      port,
      host: options.host ?? "127.0.0.1",
      rootReal,
      derivedDir: path.resolve(options.derivedDir ?? path.join(rootReal, "derived")),
      policies: new Map(Object.entries(policies))
    }
  })

const checkPublicUrl = (publicUrl: string) => {
  const parsed = URL.canParse(publicUrl) ? new URL(publicUrl) : undefined
  return parsed === undefined || (parsed.protocol !== "http:" && parsed.protocol !== "https:") ||
      parsed.search !== "" || parsed.hash !== ""
    ? Effect.fail(invalid(`publicUrl must be an http(s) URL without query or fragment, got ${publicUrl}`))
    : Effect.succeed(parsed.href.endsWith("/") ? parsed.href : `${parsed.href}/`)
}

const urlHost = (host: string): string => {
  // a wildcard address is not something a client can connect to; loopback is
  if (host === "0.0.0.0") return "127.0.0.1"
  if (host === "::") return "[::1]"
  return host.includes(":") ? `[${host}]` : host
}

/**
 * Starts the server on `host:port`; it stops (open connections are closed) when the scope closes.
 *
 * @since 0.1.0
 */
export const start = (options: Options): Effect.Effect<Running, DalServerError, Scope.Scope> =>
  Effect.gen(function*() {
    const checked = yield* checkOptions(options)
    const log = yield* Ref.make(Chunk.empty<RequestLogEntry>())
    const run = yield* FiberSet.makeRuntime<never>()
    // known once listening; requests cannot arrive before
    let url = ""
    const config = {
      rootReal: checked.rootReal,
      derivedDir: checked.derivedDir,
      listing: {
        pageSize: checked.pageSize,
        folderEntries: options.folderEntries ?? false,
        pageLinks: options.pageLinks ?? "suffix",
        publicUrl: () => checked.publicUrl ?? url
      },
      latencyMillis: checked.latencyMillis,
      transfers: { active: 0, max: checked.maxTransfers },
      maxUploadBytes: checked.maxUploadBytes,
      auth: options.tokens === undefined ? undefined : makeAuthenticator(options.tokens),
      policies: checked.policies,
      faults: faults.makeFaults(options.faults ?? []),
      record: (entry: RequestLogEntry) => Ref.update(log, Chunk.append(entry)),
      settling: new Set<Deferred.Deferred<void>>()
    }
    // No request timeout: uploads and downloads of large files may legitimately take long. What bounds a hostile or
    // vanished client is the header timeout and the idle timeout (no bytes moving either way).
    const server = createServer({
      requestTimeout: 0,
      headersTimeout: checked.headersTimeoutMillis,
      connectionsCheckingInterval: Math.min(checked.headersTimeoutMillis, 1000),
      keepAliveTimeout: checked.idleTimeoutMillis
    }, (req, res) => {
      const fiber = run(handle(config, req, res))
      res.on("close", () => {
        // the client went away mid-exchange: stop reading the file / writing the upload
        if (!res.writableFinished) fiber.unsafeInterruptAsFork(FiberId.none)
      })
    })
    // without a "timeout" listener, Node destroys the socket: the exchange then ends as aborted
    server.setTimeout(checked.idleTimeoutMillis)
    yield* Effect.acquireRelease(
      Effect.async<void, DalServerError>((resume) => {
        const onError = (cause: Error) =>
          resume(Effect.fail(
            new DalServerError({
              reason: "Listen",
              detail: `cannot listen on ${checked.host}:${checked.port}: ${cause.message}`,
              cause
            })
          ))
        server.once("error", onError)
        server.listen(checked.port, checked.host, () => {
          server.off("error", onError)
          resume(Effect.void)
        })
      }),
      () =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    )
    const { port } = server.address() as AddressInfo
    url = `http://${urlHost(checked.host)}:${port}/`
    yield* Effect.logInfo("listening").pipe(
      Effect.annotateLogs({ url, root: checked.rootReal, derivedDir: checked.derivedDir, pageSize: checked.pageSize })
    )
    if (options.tokens === undefined) {
      yield* Effect.logWarning(
        "AUTHENTICATION DISABLED: no tokens configured, every request is allowed. Pass --tokens FILE outside local development."
      )
    }
    const requests = Effect.suspend(() => Effect.forEach([...config.settling], Deferred.await, { discard: true })).pipe(
      Effect.zipRight(Ref.get(log)),
      Effect.map(Chunk.toReadonlyArray)
    )
    return { url, root: checked.rootReal, requests }
  })

/**
 * The server as a service, for tests and apps: started when the layer is built, stopped when it is released.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<DalServer, DalServerError> =>
  Layer.scoped(DalServer, start(options))

/**
 * A server over a fresh temporary folder holding `files` (key → content; a key ending in "/" makes an empty
 * folder). The folder is deleted when the layer is released.
 *
 * @since 0.1.0
 */
export const layerTest = (
  options: Omit<Options, "root"> & { readonly files: Record<string, string | Uint8Array> }
): Layer.Layer<DalServer, DalServerError> =>
  Layer.scoped(
    DalServer,
    Effect.gen(function*() {
      const cannotWrite = (error: DiskError) =>
        new DalServerError({
          reason: "InvalidOptions",
          path: error.path,
          detail: `cannot write the test data (${error.code ?? String(error.cause)}); check the temporary folder`,
          cause: error.cause
        })
      const root = yield* Effect.acquireRelease(
        tryFs(os.tmpdir(), () => fs.mkdtemp(path.join(os.tmpdir(), "fedkit-dal-"))).pipe(Effect.mapError(cannotWrite)),
        (dir) => Effect.ignore(tryFs(dir, () => fs.rm(dir, { recursive: true, force: true })))
      )
      for (const [key, content] of Object.entries(options.files)) {
        const parsed = yield* Either.mapLeft(parseKey(key), (e) => invalid(`files: ${e.reason}`))
        const target = path.join(root, parsed.bucket, ...parsed.segments)
        yield* tryFs(target, async () => {
          if (parsed.isFolder) return void (await fs.mkdir(target, { recursive: true }))
          await fs.mkdir(path.dirname(target), { recursive: true })
          await fs.writeFile(target, content)
        }).pipe(Effect.mapError(cannotWrite))
      }
      const { files: _files, ...rest } = options
      return yield* start({ ...rest, root })
    })
  )
