/**
 * A fresh file's first attempt runs in one callback (transfer.ts, `firstAttempt`) and hands anything but the common
 * case to the step-by-step program (`inSteps`). Every case here runs both ways, against the same server behaviour:
 * the outcome or error, the files left in the folder (journal included), the requests sent and the progress counted
 * must be the same.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Fs from "node:fs/promises"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as NodePath from "node:path"
import type { Subject } from "../src/DalError.js"
import * as DalSettings from "../src/DalSettings.js"
import * as DalTransport from "../src/DalTransport.js"
import * as Exchange from "../src/internal/exchange.js"
import * as Manifest from "../src/internal/manifest.js"
import * as Tracker from "../src/internal/tracker.js"
import * as Transfer from "../src/internal/transfer.js"
import type { ProgressEvent } from "../src/Progress.js"
import { bytes, hostileServer, quick, tempDir, TOKEN } from "./support/index.js"

const stamp = "Tue, 01 Dec 2026 10:00:00 GMT"
const small = bytes(300_000, 7)
const large = bytes(1024 * 1024 + 11, 8)

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void

/** Answers a GET of `body` as a DAL would: whole, or from a `Range` start with 206. */
const serve = (res: ServerResponse, req: IncomingMessage, body: Uint8Array, headers: Record<string, string>) => {
  const from = /^bytes=(\d+)-$/.exec(req.headers.range ?? "")
  if (from === null) {
    res.writeHead(200, { "content-length": String(body.length), ...headers }).end(body)
    return
  }
  const start = Number(from[1])
  res.writeHead(206, {
    "content-length": String(body.length - start),
    "content-range": `bytes ${start}-${body.length - 1}/${body.length}`,
    ...headers
  }).end(body.subarray(start))
}

/** The head and the first `cut` bytes of `body`, then the connection dies. */
const cutAfter = (res: ServerResponse, body: Uint8Array, cut: number, headers: Record<string, string>) => {
  res.writeHead(200, { "content-length": String(body.length), ...headers })
  res.write(body.subarray(0, cut), () => setTimeout(() => res.destroy(), 20))
}

interface Case {
  readonly name: string
  /** A fresh handler per run (`n`: the request's number in this run, from 1). */
  readonly handler: () => Handler
  /** Prepares the folder before the run. */
  readonly before?: (dir: string) => Promise<void>
}

const cases: ReadonlyArray<Case> = [
  {
    name: "a stamped file",
    handler: () => (req, res) => serve(res, req, small, { "last-modified": stamp, etag: "\"s\"" })
  },
  {
    name: "a file no Last-Modified stamps (journaled)",
    handler: () => (req, res) => serve(res, req, small, { etag: "\"u\"" })
  },
  {
    name: "a chunked body",
    handler: () => (_req, res) => {
      res.writeHead(200, { "last-modified": stamp })
      res.write(small.subarray(0, 1000))
      res.end(small.subarray(1000))
    }
  },
  {
    name: "an empty file",
    handler: () => (_req, res) => void res.writeHead(200, { "content-length": "0", "last-modified": stamp }).end()
  },
  {
    name: "a file that needs a resume record (strong ETag, over 1 MiB)",
    handler: () => (req, res) => serve(res, req, large, { "last-modified": stamp, etag: "\"l\"" })
  },
  {
    name: "a cut large file resumed with Range and If-Range",
    handler: () => (req, res, n) =>
      n === 1
        ? cutAfter(res, large, 500_000, { "last-modified": stamp, etag: "\"l\"" })
        : serve(res, req, large, { "last-modified": stamp, etag: "\"l\"" })
  },
  {
    name: "a cut body resumed with Range",
    handler: () => (req, res, n) =>
      n === 1 ? cutAfter(res, small, 100_000, { "last-modified": stamp }) : serve(res, req, small, {
        "last-modified": stamp
      })
  },
  {
    name: "a cut body whose resume the DAL answers from byte 0",
    handler: () => (_req, res, n) =>
      n === 1
        ? cutAfter(res, small, 100_000, { "last-modified": stamp })
        : void res.writeHead(200, { "content-length": String(small.length), "last-modified": stamp }).end(small)
  },
  {
    name: "a body cut on every attempt",
    handler: () => (_req, res) => cutAfter(res, small, 100_000, { "last-modified": stamp })
  },
  {
    name: "a 404",
    handler: () => (_req, res) => void res.writeHead(404, { "content-length": "9" }).end("not found")
  },
  {
    name: "a 503 with Retry-After, then the file",
    handler: () => (req, res, n) =>
      n === 1
        ? void res.writeHead(503, { "content-length": "4", "retry-after": "0" }).end("busy")
        : serve(res, req, small, { "last-modified": stamp })
  },
  {
    name: "a connection reset before the head, then the file",
    handler: () => (req, res, n) => n === 1 ? void res.destroy() : serve(res, req, small, { "last-modified": stamp })
  },
  {
    name: "a compressed body (refused)",
    handler: () => (_req, res) =>
      void res.writeHead(200, { "content-length": "4", "content-encoding": "gzip", "last-modified": stamp }).end("gzip")
  },
  {
    name: "a folder where the temporary file goes",
    handler: () => (req, res) => serve(res, req, small, { "last-modified": stamp }),
    before: async (dir) => {
      await Fs.mkdir(NodePath.join(dir, "file.bin.fedkit-part", "inside"), { recursive: true })
    }
  },
  {
    name: "a folder with a file in it where the file goes",
    handler: () => (req, res) => serve(res, req, small, { "last-modified": stamp }),
    before: async (dir) => {
      await Fs.mkdir(NodePath.join(dir, "file.bin"))
      await Fs.writeFile(NodePath.join(dir, "file.bin", "inside"), "x")
    }
  }
]

/** Everything below `dir`: relative path, and content (files) or "/" (folders). */
const contents = async (dir: string): Promise<ReadonlyArray<readonly [string, string]>> => {
  const entries = await Fs.readdir(dir, { recursive: true, withFileTypes: true })
  const found = await Promise.all(entries.map(async (entry) => {
    const path = NodePath.join(entry.parentPath, entry.name)
    const content = entry.isDirectory()
      ? "/"
      : (await Fs.readFile(path)).toString(entry.name.endsWith(".jsonl") ? "utf8" : "base64")
    return [NodePath.relative(dir, path), content] as const
  }))
  return found.sort(([a], [b]) => (a < b ? -1 : 1))
}

/** One run of `download` for the case's file into a fresh folder: what came out of it, with paths made relative. */
const run = (
  testCase: Case,
  download: (env: Transfer.Env, job: Transfer.FileJob) => Effect.Effect<Transfer.FileOutcome, unknown>
) =>
  Effect.gen(function*() {
    const handle = testCase.handler()
    const requests: Array<string> = []
    const server = yield* hostileServer((req, res) => {
      requests.push(`${req.method} ${req.url} range=${req.headers.range} if-range=${req.headers["if-range"]}`)
      handle(req, res, requests.length)
    })
    const dir = yield* tempDir
    yield* Effect.promise(() => testCase.before?.(dir) ?? Promise.resolve())
    const transport = yield* Layer.build(DalTransport.layer.pipe(Layer.provide(DalTransport.layerConnectionPool)))
    const settings = yield* Layer.build(
      DalSettings.layerFromValues({ url: server.url, token: Redacted.make(TOKEN), data: {}, ...quick })
    ).pipe(Effect.orDie)
    // counts which way each request went: the one-callback `dispatch` (firstAttempt) or `request` (inSteps), and the
    // responses inSteps took through `send` (a hand-over from firstAttempt goes there without a new request)
    const calls = { dispatch: 0, request: 0, send: 0 }
    const wire = Context.get(transport, DalTransport.DalTransport)
    const made = Exchange.make(Context.get(settings, DalSettings.DalSettings), {
      ...wire,
      dispatch: (request, onHead) => {
        calls.dispatch += 1
        return wire.dispatch(request, onHead)
      },
      request: (request) => {
        calls.request += 1
        return wire.request(request)
      }
    })
    const exchange: Exchange.Exchange = {
      ...made,
      send: (...args) => {
        calls.send += 1
        return made.send(...args)
      }
    }
    const key = "s3://h/ds/file.bin"
    const subject: Subject = { operation: "download", datasetId: "ds", key }
    const events: Array<ProgressEvent> = []
    // the journal and the progress are closed (flushed, published) with this scope, before the folder is read
    const scope = yield* Scope.make()
    const exit = yield* Effect.gen(function*() {
      const manifest = yield* Manifest.open(subject, dir)
      const tracker = yield* Tracker.make(
        { datasetId: "ds", key, filesTotal: 1 },
        (event) => Effect.sync(() => void events.push(event)),
        "1 hour"
      )
      return yield* download({ exchange, manifest, tracker }, {
        subject,
        key,
        dir,
        name: "file.bin",
        record: "file.bin",
        absent: true
      })
    }).pipe(Scope.extend(scope), Effect.exit)
    yield* Scope.close(scope, Exit.void)
    const relative = (text: string) => text.replaceAll(dir, "<dest>")
    const progress = events.at(-1)
    return {
      outcome: Exit.match(exit, {
        onSuccess: (outcome) => relative(JSON.stringify(outcome)),
        onFailure: (cause) => relative(JSON.stringify(cause))
      }),
      files: yield* Effect.promise(() => contents(dir)),
      requests,
      calls,
      // after a failure, how many bytes had arrived before the transfer stopped depends on the timing of the reads
      progress: Exit.isSuccess(exit) || progress === undefined ? progress : { ...progress, bytesDone: "any" }
    }
  })

describe("a fresh file's first attempt in one callback", () => {
  for (const testCase of cases) {
    it.scopedLive(`gives what the step-by-step program gives: ${testCase.name}`, () =>
      Effect.gen(function*() {
        const fast = yield* run(testCase, Transfer.downloadFile)
        const steps = yield* run(testCase, (env, job) => Transfer.inSteps(env, job, undefined, undefined))
        assert.deepStrictEqual({ ...fast, calls: undefined }, { ...steps, calls: undefined })
        // the first request went through firstAttempt's `dispatch`, every later one through inSteps' `request`
        assert.deepStrictEqual([fast.calls.dispatch, fast.calls.request], [1, fast.requests.length - 1])
        assert.deepStrictEqual(steps.calls, { dispatch: 0, request: steps.requests.length, send: steps.calls.send })
      }), 30_000)
  }

  it.scopedLive("lands the common case with one request and no journal", () =>
    Effect.gen(function*() {
      const result = yield* run(cases[0]!, Transfer.downloadFile)
      assert.include(result.outcome, "\"status\":\"downloaded\"")
      assert.deepStrictEqual(result.files.map(([path]) => path), ["file.bin"])
      assert.strictEqual(result.requests.length, 1)
      assert.deepStrictEqual(result.calls, { dispatch: 1, request: 0, send: 0 })
    }))

  it.scopedLive("hands a cut body over to the step-by-step program, which resumes it", () =>
    Effect.gen(function*() {
      const result = yield* run(cases.find((c) => c.name === "a cut body resumed with Range")!, Transfer.downloadFile)
      assert.include(result.outcome, "\"status\":\"resumed\"")
      assert.deepStrictEqual(result.calls, { dispatch: 1, request: 1, send: 1 })
    }))
})
