/**
 * Moving one file's bytes: opening at an offset (Range, guarded by If-Range), piping to a temporary file beside the
 * target in constant memory, resuming after a broken or short body, renaming only when the size matches, and the
 * re-run check that skips complete files. Also the same resume logic for a pure byte stream.
 *
 * A file reaches its final path only by a rename once whole, stamped with the DAL's Last-Modified: a re-run knows
 * it is complete from its size and that stamp, whatever the journal (manifest.ts) managed to record. A temporary
 * file is kept after a failure only when a resume record (strong ETag) was written for it.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import { Readable } from "node:stream"
import { type DalError, DalFileError, DalIntegrityError, DalStatusError, type Subject } from "../DalError.js"
import * as DalKey from "../DalKey.js"
import { type Body, type Response, TransportFailure } from "../DalTransport.js"
import type { Exchange } from "./exchange.js"
import * as Files from "./files.js"
import * as FileSink from "./fileSink.js"
import type * as Manifest from "./manifest.js"
import { Transient } from "./retry.js"
import { claimFile, fileError, lstat, reasonOf } from "./safeFs.js"
import type { Tracker } from "./tracker.js"

/** How a file ended up on disk. */
export type FileStatus = "downloaded" | "resumed" | "skipped"

export interface FileOutcome {
  readonly key: string
  readonly path: string
  readonly bytes: number
  readonly status: FileStatus
}

/** Where a response's bytes sit in the file, and what the DAL says about the file. */
interface Position {
  /** Offset of the first body byte in the file. */
  readonly start: number
  readonly total: number | undefined
  readonly etag: string | undefined
  /** Last-Modified, in epoch milliseconds. */
  readonly modified: number | undefined
}

// Below this size a broken transfer simply starts over, so no resume record is worth writing for it.
const resumeRecordMinBytes = 1024 * 1024

// The longest file name common file systems take, in bytes.
export const maxNameBytes = 255

const numberHeader = (value: string | undefined): number | undefined =>
  value !== undefined && /^\d+$/.test(value.trim()) ? Number(value.trim()) : undefined

const dateHeader = (value: string | undefined): number | undefined => {
  const at = value === undefined ? Number.NaN : Date.parse(value)
  return Number.isNaN(at) ? undefined : at
}

/** The validators the DAL sent, minus any that echo the token (they would be written to the journal). */
const facts = (exchange: Exchange, headers: Response["headers"]) => {
  const etag = headers["etag"]
  return {
    etag: etag === undefined || exchange.scrub.leaks(etag) ? undefined : etag,
    modified: dateHeader(headers["last-modified"])
  }
}

const parsePosition = (
  exchange: Exchange,
  subject: Subject,
  response: Response
): Either.Either<Position, DalError> => {
  const { etag, modified } = facts(exchange, response.headers)
  if (response.status !== 206) {
    return Either.right({ start: 0, total: numberHeader(response.headers["content-length"]), etag, modified })
  }
  const range = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers["content-range"]?.trim() ?? "")
  if (range === null) {
    return Either.left(new DalIntegrityError({ ...subject, reason: "HTTP 206 without a valid Content-Range header" }))
  }
  return Either.right({
    start: Number(range[1]),
    total: range[3] === "*" ? undefined : Number(range[3]),
    etag,
    modified
  })
}

const isStrong = (etag: string | undefined): etag is string => etag !== undefined && !etag.startsWith("W/")

/** The URL of a key's bytes. */
export const dataUrl = (exchange: Exchange, key: string): string => exchange.url(`datasets/${DalKey.encode(key)}`)

/**
 * The temporary name a file is written under, beside it: `<name>.fedkit-part`, or, when that would be longer than
 * a file system takes, a digest of the name with the same suffix.
 */
export const partialName = (name: string): string =>
  Buffer.byteLength(name) + DalKey.reserved.partialSuffix.length <= maxNameBytes
    ? name + DalKey.reserved.partialSuffix
    : createHash("sha256").update(name).digest("hex").slice(0, 40) + DalKey.reserved.partialSuffix

/** GET headers for the bytes from `offset`; `etag` makes the DAL restart from 0 if the file changed. */
const rangeHeaders = (offset: number, etag: string | undefined): Record<string, string> => ({
  // The bytes on disk must be the object's bytes, not a compressed transfer encoding of them.
  "accept-encoding": "identity",
  ...(offset > 0 ? { range: `bytes=${offset}-` } : {}),
  ...(offset > 0 && isStrong(etag) ? { "if-range": etag } : {})
})

/**
 * GET from `offset`, retrying until the headers arrive. A 416 means the partial copy is not shorter than the file
 * (it shrank, or only the rename was missing): start over from 0.
 */
const open = (
  exchange: Exchange,
  subject: Subject,
  key: string,
  offset: number,
  etag: string | undefined,
  answered?: Response | TransportFailure
): Effect.Effect<Position & { readonly body: Body }, DalError, Scope.Scope> => {
  const attempt = (headers: Record<string, string>, first?: Response | TransportFailure) =>
    Effect.flatMap(
      exchange.send(subject, { method: "GET", url: dataUrl(exchange, key), headers }, first),
      (response) =>
        Either.map(parsePosition(exchange, subject, response), (position) => ({ ...position, body: response.body }))
    )
  // `answered`: the transport's answer to this very request, already in (see firstAttempt)
  return exchange.retrying((n) => attempt(rangeHeaders(offset, etag), n === 0 ? answered : undefined)).pipe(
    Effect.catchIf(
      (e) => offset > 0 && e instanceof DalStatusError && e.status === 416,
      () => exchange.retrying(() => attempt(rangeHeaders(0, undefined)))
    )
  )
}

const truncated = (subject: Subject, got: number, total: number): Transient =>
  new Transient({
    final: () =>
      new DalIntegrityError({ ...subject, reason: `the body ended after ${got} of ${total} bytes, on every attempt` }),
    retryAfter: Option.none()
  })

const oversized = (subject: Subject, got: number, total: number): DalIntegrityError =>
  new DalIntegrityError({ ...subject, reason: `received ${got} bytes where ${total} were announced` })

/**
 * Writes a body onto the end of `path` ("a") or over it ("w") and answers how many bytes reached the file. On
 * failure, what arrived is still written and the file closed before the effect ends, so the file's size is exactly
 * where a resume starts. A refused write stops the body and fails with the disk's reason.
 */
const toFile = (
  exchange: Exchange,
  subject: Subject,
  body: Body,
  path: string,
  flags: "a" | "w",
  modified: number | undefined,
  onBytes: (n: number) => void
): Effect.Effect<number, Transient | DalError> =>
  Effect.async<number, Transient | DalError>((resume) => {
    let closed = Promise.resolve()
    const sink = FileSink.open(path, flags, modified, body.resume, () => body.destroy())
    body.attach({
      onData: (chunk) => {
        onBytes(chunk.length)
        return sink.write(chunk, 0, chunk.length)
      },
      onEnd: (failure) => {
        closed = sink.close().then(
          (written) =>
            resume(
              failure === undefined ? Effect.succeed(written) : Effect.fail(exchange.bodyFailure(subject, failure))
            ),
          (error: unknown) => resume(Effect.fail(new DalFileError({ ...subject, path, reason: reasonOf(error) })))
        )
      }
    })
    return Effect.promise(() => {
      body.destroy()
      return closed
    })
  })

/** HEAD: the size and validators the DAL announces, or undefined when it cannot say (e.g. HEAD not allowed). */
const remoteInfo = (exchange: Exchange, subject: Subject, key: string) =>
  exchange.retrying(() =>
    Effect.map(
      exchange.send(subject, { method: "HEAD", url: dataUrl(exchange, key) }),
      (response) => ({ size: numberHeader(response.headers["content-length"]), ...facts(exchange, response.headers) })
    )
  ).pipe(
    Effect.scoped,
    Effect.catchIf((e) => e instanceof DalStatusError, () => Effect.succeed(undefined))
  )

export interface FileJob {
  readonly subject: Subject
  readonly key: string
  /** Folder of the target, already created safely. */
  readonly dir: string
  readonly name: string
  /** The target's path in the manifest (relative to the manifest's folder). */
  readonly record: string
  /**
   * The folder was read before this download and held neither the target nor its partial file: the per-file
   * checks for them are skipped (the file is opened without following symlinks either way).
   */
  readonly absent?: boolean | undefined
}

export interface Env {
  readonly exchange: Exchange
  readonly manifest: Manifest.Manifest
  readonly tracker: Tracker
}

type Step =
  | { readonly _tag: "Done" }
  | {
    readonly _tag: "Again"
    /** Absent when the next request should go out at once (the file changed under a resume). */
    readonly failure?: Transient
    readonly progressed: boolean
  }

/** Whether a file at the final path is the DAL's file: same size, and the Last-Modified it was stamped with. */
const isComplete = (
  local: { readonly size: number; readonly mtimeMs: number },
  remote: {
    readonly size: number | undefined
    readonly etag: string | undefined
    readonly modified: number | undefined
  },
  journal: { readonly state: string; readonly etag?: string | undefined } | undefined
): boolean => {
  if (remote.size !== local.size) return false
  if (remote.modified !== undefined) return Math.floor(local.mtimeMs / 1000) === Math.floor(remote.modified / 1000)
  return remote.etag === undefined || (journal?.state === "complete" && journal.etag === remote.etag)
}

/** Where the one-callback first attempt at a fresh file (`firstAttempt`) left it. */
type FirstAttempt =
  /** Whole, and renamed into place. */
  | { readonly _tag: "Landed"; readonly bytes: number; readonly position: Position }
  /** Whole, but the rename failed (the temporary file is still there). */
  | { readonly _tag: "NotRenamed"; readonly cause: unknown }
  /** The transport's answer before any byte was written: a failure, or a response the common case does not cover. */
  | { readonly _tag: "Answered"; readonly answered: Response | TransportFailure }
  /** The body was written, whole or not, without landing: what toFile would have answered (and `counted` bytes). */
  | {
    readonly _tag: "Pumped"
    readonly position: Position
    readonly pumped: Either.Either<number, Transient | DalError>
    readonly counted: number
  }

/** Whether a transfer journals a resume record before its body: a strong ETag, and big enough to be worth resuming. */
const needsResumeRecord = (position: Position): boolean =>
  isStrong(position.etag) && (position.total ?? 0) >= resumeRecordMinBytes

/**
 * The first attempt at a fresh file (nothing at its paths, nothing journaled), run in one `Effect.async` rather than
 * as the step-by-step program of `inSteps`: a per-file program of scopes, retries and generators cost more CPU than
 * the transfer of a small file itself. It covers the common case only (a 200 that needs no resume record, the body
 * whole, the rename done); anything else is handed to `inSteps` where it stands, which goes on from there exactly as
 * if it had made the attempt itself (test/FirstAttempt.test.ts runs each case both ways).
 */
const firstAttempt = (env: Env, job: FileJob, temp: string, target: string): Effect.Effect<FirstAttempt> =>
  Effect.async<FirstAttempt>((resume) => {
    const { exchange, tracker } = env
    const done = (first: FirstAttempt) => resume(Effect.succeed(first))
    let body: Body | undefined
    let closed: Promise<unknown> = Promise.resolve()
    const abandon = exchange.dispatch(
      { method: "GET", url: dataUrl(exchange, job.key), headers: rangeHeaders(0, undefined) },
      (answered) => {
        if (answered instanceof TransportFailure || answered.status !== 200) return done({ _tag: "Answered", answered })
        const parsed = parsePosition(exchange, job.subject, answered)
        if (Either.isLeft(parsed) || needsResumeRecord(parsed.right)) return done({ _tag: "Answered", answered })
        const position = parsed.right
        body = answered.body
        if (position.total !== undefined) tracker.sized(position.total)
        let counted = 0
        const sink = FileSink.open(temp, "w", position.modified, answered.body.resume, () => answered.body.destroy())
        const pumped = (result: Either.Either<number, Transient | DalError>) =>
          done({ _tag: "Pumped", position, pumped: result, counted })
        answered.body.attach({
          onData: (chunk) => {
            counted += chunk.length
            tracker.add(chunk.length)
            return sink.write(chunk, 0, chunk.length)
          },
          onEnd: (failure) => {
            closed = sink.close().then(
              (written) => {
                if (failure !== undefined) return pumped(Either.left(exchange.bodyFailure(job.subject, failure)))
                if (position.total !== undefined && written !== position.total) return pumped(Either.right(written))
                return Fs.rename(temp, target).then(
                  () => done({ _tag: "Landed", bytes: written, position }),
                  (cause: unknown) => done({ _tag: "NotRenamed", cause })
                )
              },
              (error: unknown) =>
                pumped(Either.left(new DalFileError({ ...job.subject, path: temp, reason: reasonOf(error) })))
            )
          }
        })
      }
    )
    return Effect.promise(() => {
      if (body === undefined) abandon()
      else body.destroy()
      return closed.then(() => Fs.rm(temp, { force: true })).catch(() => undefined)
    })
  })

/** A file is in place: its journal line when one is needed (see below), the progress, the outcome. */
const landed = (
  env: Env,
  job: FileJob,
  previous: Manifest.Record | undefined,
  facts: {
    readonly bytes: number
    readonly etag: string | undefined
    readonly stamped: number | undefined
    readonly recordedPartial: boolean
    readonly resumed: boolean
  }
): Effect.Effect<FileOutcome, DalError> => {
  const outcome: FileOutcome = {
    key: job.key,
    path: NodePath.join(job.dir, job.name),
    bytes: facts.bytes,
    status: facts.resumed ? "resumed" : "downloaded"
  }
  const done = Effect.as(env.tracker.fileDone(false), outcome)
  // A stamped file at its final path says it is complete by itself (isComplete); the journal only has to for one the
  // DAL dates nowhere, and to replace a resume record. A line per file is otherwise work and memory for nothing.
  return facts.stamped === undefined || facts.recordedPartial || previous !== undefined
    ? Effect.zipRight(
      env.manifest.put({ path: job.record, key: job.key, state: "complete", size: facts.bytes, etag: facts.etag }),
      done
    )
    : done
}

/**
 * Skips the file when it is already complete, else downloads (or resumes) it. A fresh file starts with
 * `firstAttempt`; `inSteps` does the rest.
 */
export const downloadFile = (env: Env, job: FileJob): Effect.Effect<FileOutcome, DalError> =>
  Effect.suspend(() => {
    const previous = env.manifest.get(job.record)
    if (job.absent !== true || previous !== undefined) return inSteps(env, job, previous, undefined)
    const target = NodePath.join(job.dir, job.name)
    const temp = NodePath.join(job.dir, partialName(job.name))
    return Effect.flatMap(firstAttempt(env, job, temp, target), (first) => {
      switch (first._tag) {
        case "Landed":
          return landed(env, job, previous, {
            bytes: first.bytes,
            etag: first.position.etag,
            stamped: first.position.modified,
            recordedPartial: false,
            resumed: false
          })
        case "NotRenamed":
          return Effect.zipRight(
            Effect.promise(() => Fs.rm(temp, { force: true }).catch(() => undefined)),
            Effect.fail(fileError(job.subject, target)(first.cause))
          )
        case "Answered": {
          const { answered } = first
          // the response now belongs to inSteps' first request, which abandons it when done with it (exchange.send's
          // acquireRelease); this ensuring covers an interruption before that request takes it over
          return answered instanceof TransportFailure
            ? inSteps(env, job, previous, first)
            : Effect.ensuring(inSteps(env, job, previous, first), Effect.sync(() => answered.body.destroy()))
        }
        case "Pumped":
          return inSteps(env, job, previous, first)
      }
    })
  })

/**
 * The whole program for one file: the re-run checks, attempts until the file is whole (resuming where each left
 * off), the rename. `from` is where a `firstAttempt` left a fresh file: the first attempt here goes on from it.
 */
/* eslint-disable max-lines-per-function -- the attempts at one file share its resume state (bytes on disk, ETag, counters) */
export const inSteps = (
  env: Env,
  job: FileJob,
  previous: Manifest.Record | undefined,
  from: Extract<FirstAttempt, { readonly _tag: "Answered" | "Pumped" }> | undefined
): Effect.Effect<FileOutcome, DalError> =>
  Effect.gen(function*() {
    const { exchange, manifest, tracker } = env
    const { subject } = job
    const target = NodePath.join(job.dir, job.name)
    const temp = NodePath.join(job.dir, partialName(job.name))
    const same = previous !== undefined && previous.key === job.key

    const existing = job.absent === true ? undefined : yield* lstat(subject, target)
    if (existing?.isFile()) {
      const remote = yield* remoteInfo(exchange, subject, job.key)
      if (remote !== undefined && isComplete(existing, remote, same ? previous : undefined)) {
        tracker.sized(existing.size)
        tracker.add(existing.size)
        yield* tracker.fileDone(true)
        return { key: job.key, path: target, bytes: existing.size, status: "skipped" as const }
      }
    }

    // A partial file from an earlier run is only trusted with the strong ETag it was started under.
    const partial = job.absent === true ? undefined : yield* claimFile(subject, temp)
    let onDisk = partial !== undefined && same && previous.state === "partial" && isStrong(previous.etag) ? partial : 0
    let etag = onDisk > 0 ? previous?.etag : undefined
    // Whether a failed run should leave the partial file for the next one to resume.
    let resumable = onDisk > 0
    let counted = 0
    let sized = false
    let resumed = false
    // Whether this run wrote a resume record for the file, and the Last-Modified it is being stamped with.
    let recordedPartial = false
    let stamped: number | undefined
    let handed = from

    /** The response's position is known: the resume record, the progress counters. */
    const received = (position: Position) =>
      Effect.gen(function*() {
        const start = position.start
        stamped = position.modified
        resumed = resumed || start > 0
        if (position.etag !== etag) {
          etag = position.etag
          resumable = false
          if (needsResumeRecord(position)) {
            yield* manifest.put({ path: job.record, key: job.key, state: "partial", etag: etag! })
            resumable = true
            recordedPartial = true
          }
        }
        if (!sized && position.total !== undefined) {
          sized = true
          tracker.sized(position.total)
        }
        tracker.add(start - counted)
        counted = start
      })

    /** The body was written from `start`, asked for at `asked`: what the next step is. */
    const pumpedTo = (
      asked: number,
      start: number,
      total: number | undefined,
      pumped: Either.Either<number, Transient | DalError>
    ) =>
      Effect.gen(function*() {
        // After a failure the file's size, not any counter, says where to resume.
        onDisk = Either.isRight(pumped) ? start + pumped.right : (yield* claimFile(subject, temp)) ?? 0
        tracker.add(onDisk - counted)
        counted = onDisk
        if (Either.isLeft(pumped)) {
          if (!(pumped.left instanceof Transient)) return yield* pumped.left
          return { _tag: "Again", failure: pumped.left, progressed: onDisk > asked } satisfies Step
        }
        if (total !== undefined && onDisk < total) {
          return {
            _tag: "Again",
            failure: truncated(subject, onDisk, total),
            progressed: onDisk > asked
          } satisfies Step
        }
        if (total !== undefined && onDisk > total) return yield* oversized(subject, onDisk, total)
        return { _tag: "Done" } satisfies Step
      })

    const attempt = Effect.gen(function*() {
      const asked = onDisk
      const first = handed
      handed = undefined
      if (first?._tag === "Pumped") {
        // firstAttempt received the response and wrote its body as the code below would have, progress included
        sized = first.position.total !== undefined
        yield* received(first.position)
        counted += first.counted
        return yield* pumpedTo(asked, 0, first.position.total, first.pumped)
      }
      const opened = yield* open(exchange, subject, job.key, asked, etag, first?.answered)
      if (opened.start !== asked) {
        // Only a restart from byte 0 (no Range support, or If-Range saw a changed file) is acceptable.
        if (opened.start !== 0) {
          return yield* new DalIntegrityError({
            ...subject,
            reason: `asked for bytes from ${asked}, the DAL sent them from ${opened.start}`
          })
        }
      } else if (asked > 0 && opened.etag !== etag) {
        // Resumed, but the file changed (the DAL ignored If-Range): ask again for the whole file.
        onDisk = 0
        etag = undefined
        return { _tag: "Again", progressed: false } satisfies Step
      }
      yield* received(opened)
      const start = opened.start
      const pumped = yield* Effect.either(
        toFile(exchange, subject, opened.body, temp, start > 0 ? "a" : "w", opened.modified, (n) => {
          counted += n
          tracker.add(n)
        })
      )
      return yield* pumpedTo(asked, start, opened.total, pumped)
    }).pipe(Effect.scoped)

    const transfer = Effect.gen(function*() {
      let failures = 0
      while (true) {
        const step: Step = yield* attempt
        if (step._tag === "Done") break
        if (step.failure === undefined) continue
        // Bytes gained since the last attempt restore the full retry budget: a moving transfer never gives up.
        const n = step.progressed ? 0 : failures
        failures = n + 1
        yield* exchange.backoff(n, step.failure)
      }
      // The sink stamped the file with the DAL's date before the rename: a file at the final path always carries it.
      yield* Files.rename(temp, target).pipe(Effect.mapError(fileError(subject, target)))
    })
    yield* transfer.pipe(
      Effect.onExit((exit) =>
        Exit.isSuccess(exit) || resumable
          ? Effect.void
          : Effect.promise(() => Fs.rm(temp, { force: true }).catch(() => undefined))
      )
    )
    return yield* landed(env, job, previous, { bytes: onDisk, etag, stamped, recordedPartial, resumed })
  })
/* eslint-enable max-lines-per-function */

const dropBytes = (count: number) => <E>(stream: Stream.Stream<Uint8Array, E>) =>
  Stream.suspend(() => {
    let left = count
    return stream.pipe(
      Stream.map((chunk) => {
        if (left === 0) return chunk
        const cut = Math.min(left, chunk.length)
        left -= cut
        return chunk.subarray(cut)
      }),
      Stream.filter((chunk) => chunk.length > 0)
    )
  })

/** A push body as a Node stream (which pulls, and so paces the body). */
const readableOf = (body: Body): Readable => {
  const readable = new Readable({
    read: () => body.resume(),
    destroy: (error, done) => {
      body.destroy()
      done(error)
    }
  })
  body.attach({
    onData: (chunk) => readable.push(chunk),
    onEnd: (failure) => failure === undefined ? readable.push(null) : readable.destroy(failure)
  })
  return readable
}

/**
 * A file's bytes as a stream, never touching disk. A broken body resumes with Range; if the DAL can only restart,
 * the bytes already emitted are skipped, provided the strong ETag shows the file is unchanged.
 */
export const stream = (exchange: Exchange, subject: Subject, key: string): Stream.Stream<Uint8Array, DalError> =>
  Stream.suspend(() => {
    let delivered = 0
    let etag: string | undefined
    const attempt = (failures: number): Stream.Stream<Uint8Array, DalError> =>
      Stream.unwrapScoped(Effect.map(open(exchange, subject, key, delivered, etag), (opened) => {
        let skip = 0
        const changed = delivered > 0 && opened.etag !== etag
        if (opened.start !== delivered || changed) {
          if (opened.start !== 0 || !isStrong(etag) || opened.etag !== etag) {
            return Stream.fail(
              new DalIntegrityError({
                ...subject,
                reason: "the read broke off and the DAL could not resume it on an unchanged file; read it again"
              })
            )
          }
          skip = delivered
        }
        etag = opened.etag
        const start = delivered
        const total = opened.total
        const ending = Stream.suspend((): Stream.Stream<never, Transient | DalError> =>
          total !== undefined && delivered < total
            ? Stream.fail(truncated(subject, delivered, total))
            : total !== undefined && delivered > total
            ? Stream.fail(oversized(subject, delivered, total))
            : Stream.empty
        )
        return Stream.suspend(() =>
          Stream.fromAsyncIterable<Uint8Array, Transient | DalError>(
            readableOf(opened.body),
            (cause) =>
              exchange.bodyFailure(
                subject,
                cause instanceof TransportFailure
                  ? cause
                  : new TransportFailure({ kind: "cut", reason: String(cause) })
              )
          )
        ).pipe(
          dropBytes(skip),
          Stream.tap((chunk) => Effect.sync(() => void (delivered += chunk.length))),
          Stream.concat(ending),
          Stream.catchAll((e): Stream.Stream<Uint8Array, DalError> => {
            if (!(e instanceof Transient)) return Stream.fail(e)
            const n = delivered > start ? 0 : failures
            return Stream.unwrap(Effect.as(exchange.backoff(n, e), attempt(n + 1)))
          })
        )
      }))
    return attempt(0)
  })
