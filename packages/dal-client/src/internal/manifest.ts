/**
 * The download journal: `.fedkit-dal.jsonl` in a destination folder while a download is unfinished, one JSON line per
 * event, the last line for a path winning. A line is appended when a transfer learns its ETag (so an interrupted file
 * can resume in a later run) and when a file is complete. Appending keeps it linear in cost and crash-tolerant (a lost
 * or torn line only means that file is fetched again); it is compacted when it grows to twice its live size. A
 * download that succeeds removes it (`finish`), so a finished destination holds only the dataset's files; complete
 * files are recognised without it (see transfer.ts). In memory: the records read at the start (an earlier run's), and
 * the partial records of this one; a complete record of this run is only written out.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import { type DalFileError, DalUnsafePath, type Subject } from "../DalError.js"
import { reserved } from "../DalKey.js"
import * as Files from "./files.js"
import { fileError, lstat } from "./safeFs.js"

export const Record = Schema.Struct({
  path: Schema.String,
  key: Schema.String,
  state: Schema.Literal("partial", "complete"),
  size: Schema.optional(Schema.Number),
  etag: Schema.optional(Schema.String)
})
export type Record = typeof Record.Type

export interface Manifest {
  readonly get: (path: string) => Record | undefined
  readonly put: (record: Record) => Effect.Effect<void, DalFileError>
  /** Writes out batched records. */
  readonly flush: Effect.Effect<void, DalFileError>
  /**
   * The download succeeded: the journal is removed when it holds no resume record of another download (else
   * rewritten to hold just those); nothing is recorded after this.
   */
  readonly finish: Effect.Effect<void, DalFileError>
}

const decodeLine = Schema.decodeUnknownEither(Schema.parseJson(Record))
const line = (record: Record): string => JSON.stringify(record) + "\n"

const parse = (text: string): { readonly records: Map<string, Record>; readonly lines: number } => {
  const records = new Map<string, Record>()
  let lines = 0
  for (const raw of text.split("\n")) {
    if (raw.trim() === "") continue
    lines++
    // A torn last line (crash mid-append) or foreign content is ignored, never fatal.
    const decoded = decodeLine(raw)
    if (Either.isRight(decoded)) records.set(decoded.right.path, decoded.right)
  }
  return { records, lines }
}

/** Opens (creating on first write) the manifest of `root`, a folder that already exists. */
export const open = (
  subject: Subject,
  root: string
): Effect.Effect<Manifest, DalFileError | DalUnsafePath, Scope.Scope> =>
  Effect.gen(function*() {
    const path = NodePath.join(root, reserved.manifest)
    const stats = yield* lstat(subject, path)
    if (stats !== undefined && !stats.isFile()) {
      return yield* new DalUnsafePath({
        ...subject,
        entry: path,
        reason: "the download manifest is not a regular file"
      })
    }
    const { lines, records } = stats === undefined
      ? { records: new Map<string, Record>(), lines: 0 }
      : parse(yield* Files.readText(path).pipe(Effect.mapError(fileError(subject, path))))
    if (lines > 2 * records.size + 64) {
      const temp = path + reserved.partialSuffix
      yield* Files.writeText(temp, [...records.values()].map(line).join("")).pipe(
        Effect.zipRight(Files.rename(temp, path)),
        Effect.mapError(fileError(subject, path))
      )
    }
    // Lines are batched (a file's worth of syscalls saved per record) and flushed every 250 ms of puts, at once for
    // resume records (a crash must not lose them), at the end of a download, and when the scope closes. Opened on
    // the first flush, so a run that records nothing leaves no manifest behind.
    // The handle lives in a child scope closed by the finalizer below, after the last flush.
    const files = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    let appender: Files.Appender | undefined
    let finished = false
    let pending = ""
    let flushed = Date.now()
    const lock = yield* Effect.makeSemaphore(1)
    const flush = lock.withPermits(1)(
      Effect.gen(function*() {
        if (pending === "" || finished) return
        const text = pending
        pending = ""
        flushed = Date.now()
        appender ??= yield* Files.openAppender(path).pipe(Scope.extend(files))
        yield* appender.append(text)
      }).pipe(Effect.mapError(fileError(subject, path)))
    )
    yield* Effect.addFinalizer(() => Effect.ignore(flush).pipe(Effect.zipRight(Scope.close(files, Exit.void))))
    const finish = lock.withPermits(1)(
      Effect.gen(function*() {
        finished = true
        pending = ""
        const left = [...records.values()].filter((r) => r.state === "partial")
        if (left.length === 0) {
          return yield* Effect.tryPromise({ try: () => Fs.rm(path, { force: true }), catch: fileError(subject, path) })
        }
        const temp = path + reserved.partialSuffix
        yield* Files.writeText(temp, left.map(line).join("")).pipe(
          Effect.zipRight(Files.rename(temp, path)),
          Effect.mapError(fileError(subject, path))
        )
      })
    )
    return {
      get: (p) => records.get(p),
      put: (record) =>
        Effect.suspend(() => {
          // A path is looked up once, before its transfer: only partial records must stay in memory, for `finish`.
          if (record.state === "partial") records.set(record.path, record)
          else records.delete(record.path)
          pending += line(record)
          return record.state === "partial" || pending.length >= 65536 || Date.now() - flushed >= 250
            ? flush
            : Effect.void
        }),
      flush,
      finish
    }
  })
