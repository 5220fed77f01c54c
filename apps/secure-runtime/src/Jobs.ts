/**
 * The jobs a server renders: each request body becomes `<jobs-dir>/<uuid>/` (the job folder) and
 * `<jobs-dir>/<uuid>.manifest.json`, written atomically by `@fedkit/job-packager`, so a job folder is either
 * complete or absent. A payload is parsed and checked before anything else, so a refused one is answered at once;
 * renders are bounded (a fixed number at once, a bounded queue); with a FLARE runner, each job
 * is then submitted in the background, one at a time, and its state and FLARE's result are kept for `GET`.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { type FlareRunner, JobPackage, JobStore } from "@fedkit/job-packager"
import { Dataset2Gw, type Runtime } from "@fedkit/runtime-core"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as EffectRuntime from "effect/Runtime"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { randomUUID } from "node:crypto"
import * as Slots from "./internal/slots.js"
import { describeError } from "./internal/text.js"
import * as JobFolder from "./JobFolder.js"
import type { RenderFailure } from "./Refusal.js"
import * as Render from "./Render.js"

/**
 * @since 0.1.0
 * @category models
 */
export const SubmissionState = Schema.Literal("queued", "running", "completed", "failed", "interrupted")

/**
 * What FLARE reported for a finished run.
 *
 * @since 0.1.0
 * @category models
 */
export const FlareResult = Schema.Struct({
  status: Schema.String,
  flareJobId: Schema.String,
  workspace: Schema.String,
  globalModel: Schema.NullOr(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export const Submission = Schema.Struct({
  target: Schema.Literal("simulator", "poc"),
  state: SubmissionState,
  result: Schema.optionalWith(FlareResult, { exact: true }),
  error: Schema.optionalWith(Schema.String, { exact: true })
})

/**
 * @since 0.1.0
 * @category models
 */
export type Submission = typeof Submission.Type

/**
 * What `GET /v1/jobs/{id}` answers.
 *
 * @since 0.1.0
 * @category models
 */
export const JobView = Schema.Struct({
  jobId: Schema.String,
  digest: Schema.String,
  files: Schema.Array(Schema.String),
  status: Schema.Literal("rendered", "queued", "running", "completed", "failed", "interrupted"),
  submission: Schema.optionalWith(Submission, { exact: true })
})

/**
 * @since 0.1.0
 * @category models
 */
export type JobView = typeof JobView.Type

/**
 * Too many renders are waiting: HTTP 503, try again later.
 *
 * @since 0.1.0
 * @category errors
 */
export class JobsBusy extends Schema.TaggedError<JobsBusy>()("JobsBusy", { queued: Schema.Number }) {
  override get message(): string {
    return `The server is busy (${this.queued} renders waiting); try again shortly.`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly runtime: Runtime.Runtime<unknown>
  readonly dataset2gw: Dataset2Gw.Dataset2Gw
  readonly jobsDir: string
  /** Renders running at once (default 8). */
  readonly maxConcurrentRenders?: number
  /** Renders waiting for a slot before new ones get {@link JobsBusy} (default 256). */
  readonly maxQueuedRenders?: number
  /** Submits each job here in the background; none: jobs are only written. */
  readonly runner?: FlareRunner.Runner
  /** Job states kept in memory; older ones are read back from the jobs folder (default 10,000). */
  readonly maxRemembered?: number
  /**
   * Remove what a killed process left in the jobs folder at start (default true). Off in the workers of a cluster,
   * where the primary sweeps before starting them: a worker must not sweep another one's write in progress.
   */
  readonly sweep?: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Renders and writes one job; the job id is generated here, never taken from the payload. Waits at most `waitFor`
   * (default 30 seconds) for a render slot.
   *
   * The body is parsed and checked when `create` is called (synchronously; it is pure): a refused payload gives an
   * `Exit` failure at once, which a server answers without running a fiber (see `Exit.isExit`). Without a runner and
   * with a slot free, the job is rendered and written then too, and its result is an `Exit` as well (unless the
   * runtime's template is asynchronous).
   */
  readonly create: (
    body: Uint8Array | string,
    waitFor?: Duration.DurationInput
  ) => Effect.Effect<JobView, RenderFailure | JobsBusy | JobStore.JobStoreError>
  readonly get: (jobId: string) => Effect.Effect<Option.Option<JobView>>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Jobs extends Context.Tag("@fedkit/secure-runtime/Jobs")<Jobs, Service>() {}

type Created = Effect.Effect<JobView, RenderFailure | JobsBusy | JobStore.JobStoreError>

const decodeManifest = Schema.decodeUnknownOption(Schema.parseJson(JobPackage.Manifest))
const decodeSubmission = Schema.decodeUnknownOption(Schema.parseJson(Submission))

/**
 * The jobs service. Removes stages a killed process left in the jobs folder; background submissions are interrupted
 * when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
/* eslint-disable max-lines-per-function -- create, get and the background submissions share the slots, records and folder */
export const make = (
  options: Options
): Effect.Effect<Service, JobStore.JobStoreError, FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const jobsDir = path.resolve(options.jobsDir)
    const failAt = (error: { readonly message: string }) =>
      new JobStore.JobStoreError({ path: jobsDir, reason: error.message })
    yield* fs.makeDirectory(jobsDir, { recursive: true }).pipe(Effect.mapError(failAt))
    const swept = options.sweep === false ? [] : yield* JobFolder.sweep(jobsDir)
    if (swept.length > 0) {
      yield* Effect.logWarning("removed unfinished jobs").pipe(Effect.annotateLogs({ count: swept.length }))
    }

    const slots = Slots.make(options.maxConcurrentRenders ?? 8)
    const maxQueued = options.maxQueuedRenders ?? 256
    const maxRemembered = options.maxRemembered ?? 10_000
    const submissions = yield* Effect.makeSemaphore(1)
    const background = yield* FiberSet.make()
    const runSyncExit = EffectRuntime.runSyncExit(yield* Effect.runtime<never>())
    const sites = Dataset2Gw.gateways(options.dataset2gw).map((name) => ({ name }))
    const records = new Map<string, JobView>()

    const remember = (view: JobView) => {
      records.delete(view.jobId)
      records.set(view.jobId, view)
      if (records.size > maxRemembered) {
        // Forget the oldest finished job; it can still be read back from the jobs folder.
        for (const [id, old] of records) {
          if (old.status !== "queued" && old.status !== "running") {
            records.delete(id)
            break
          }
        }
      }
    }

    const saveSubmission = (jobId: string, submission: Submission) =>
      Effect.gen(function*() {
        const target = path.join(jobsDir, `${jobId}.submission.json`)
        const temp = `${target}.${randomUUID()}.tmp`
        yield* fs.writeFileString(temp, JSON.stringify(submission))
        yield* fs.rename(temp, target)
      }).pipe(Effect.ignore)

    const setSubmission = (view: JobView, submission: Submission) =>
      Effect.suspend(() => {
        const updated: JobView = { ...view, status: submission.state, submission }
        remember(updated)
        return Effect.as(saveSubmission(view.jobId, submission), updated)
      })

    const submit = (runner: FlareRunner.Runner, view: JobView, pkg: JobPackage.JobPackage) => {
      const target = runner.target === "poc" ? "poc" : "simulator"
      return Effect.gen(function*() {
        yield* setSubmission(view, { target, state: "running" })
        const result = yield* runner.run({
          job: pkg,
          sites,
          outputDir: path.join(jobsDir, `${view.jobId}.flare`)
        }).pipe(Effect.either)
        yield* setSubmission(
          view,
          result._tag === "Right"
            ? {
              target,
              state: "completed",
              result: {
                status: result.right.status,
                flareJobId: result.right.jobId,
                workspace: result.right.workspace,
                globalModel: Option.getOrNull(result.right.globalModel)
              }
            }
            : { target, state: "failed", error: result.left.message }
        )
      }).pipe(
        submissions.withPermits(1),
        Effect.onInterrupt(() => setSubmission(view, { target, state: "interrupted" })),
        Effect.catchAllDefect((defect) =>
          setSubmission(view, { target, state: "failed", error: describeError(defect) })
        )
      )
    }

    /** Renders and writes in a slot; waiting for one is bounded, writing is never cut short (no orphan jobs). */
    const create = (
      body: Uint8Array | string,
      waitFor: Duration.DurationInput = "30 seconds"
    ): Created => {
      // Parsing and checking come first, synchronously, and take no slot: a refused payload is answered at once,
      // never queued behind renders, and never counted as waiting. A refusal is a plain `Exit`, so that a server
      // refusing thousands of payloads a second need not run a fiber for each.
      const checked = Render.check(options.runtime, body)
      if (Either.isLeft(checked)) return Exit.fail(checked.left)
      if (options.runner === undefined && slots.tryTake()) return renderNow(checked.right)
      return Effect.uninterruptibleMask((restore) =>
        Effect.suspend((): Created => {
          // The queue bound applies to waiting only: with a slot free, even `maxQueued: 0` renders at once.
          if (!slots.free() && slots.waiting() >= maxQueued) {
            return Effect.fail(new JobsBusy({ queued: slots.waiting() }))
          }
          // Interruptible even where the caller is not (request fibers), so a client going away stops the wait.
          return Effect.flatMap(
            restore(Effect.interruptible(slots.take(Duration.toMillis(Duration.decode(waitFor))))),
            (slot): Created =>
              slot
                ? Effect.ensuring(written(checked.right), Effect.sync(slots.release))
                : Effect.fail(new JobsBusy({ queued: slots.waiting() }))
          )
        })
      )
    }

    /** The view of a job just written. */
    const renderedView = (jobId: string, pkg: JobPackage.JobPackage): JobView => ({
      jobId,
      digest: pkg.digest,
      files: pkg.files.map((file) => file.path),
      status: "rendered"
    })

    /** A package into the jobs folder, remembered as rendered (no runner): now, when called. */
    const kept = (jobId: string, pkg: JobPackage.JobPackage): Either.Either<JobView, JobStore.JobStoreError> =>
      Either.map(JobFolder.writeNow(pkg, jobsDir), () => {
        const view = renderedView(jobId, pkg)
        remember(view)
        return view
      })

    /**
     * A render without a runner, in a slot already taken, run at once: when nothing in it needs a fiber (a template of
     * `Either`s, its templates read), the job is rendered and written before this returns and the answer is a plain
     * `Exit`, which a server answers without running a fiber. Otherwise the render runs in a fiber of the service,
     * synchronously as far as it can; one that must wait goes on in that fiber, which shutdown interrupts like any
     * other of the service's fibers, and the caller waits for it.
     */
    const renderNow = (payload: unknown): Created => {
      const jobId = randomUUID()
      const built = Render.build(options.runtime, payload, options.dataset2gw, jobId)
      if (!Either.isEither(built)) {
        const exit = runSyncExit(
          Effect.ensuring(
            Effect.flatMap(built, (pkg) => Effect.suspend(() => kept(jobId, pkg))),
            Effect.sync(slots.release)
          )
        )
        if (Exit.isFailure(exit)) {
          const defect = Cause.dieOption(exit.cause)
          if (Option.isSome(defect) && EffectRuntime.isAsyncFiberException(defect.value)) {
            const fiber = defect.value.fiber as Fiber.RuntimeFiber<JobView, RenderFailure | JobStore.JobStoreError>
            FiberSet.unsafeAdd(background, fiber)
            return Fiber.join(fiber)
          }
        }
        return exit
      }
      try {
        const view = Either.flatMap(
          built as Either.Either<JobPackage.JobPackage, RenderFailure>,
          (pkg) => kept(jobId, pkg)
        )
        return Either.isRight(view) ? Exit.succeed(view.right) : Exit.fail(view.left)
      } finally {
        slots.release()
      }
    }

    const written = (payload: unknown) =>
      Effect.gen(function*() {
        const jobId = randomUUID()
        const pkg = yield* Render.build(options.runtime, payload, options.dataset2gw, jobId)
        const runner = options.runner
        if (runner === undefined) return yield* kept(jobId, pkg)
        yield* JobFolder.write(pkg, jobsDir)
        const queued = yield* setSubmission(renderedView(jobId, pkg), {
          target: runner.target === "poc" ? "poc" : "simulator",
          state: "queued"
        })
        // Forked from the uninterruptible write above, a submission would inherit that status: shutdown must be able
        // to stop it (the FLARE run inside keeps itself interruptible in any case: job-packager's runner sees to it).
        yield* FiberSet.run(background, Effect.interruptible(submit(runner, queued, pkg)))
        return queued
      })

    const readBack = (jobId: string): Effect.Effect<Option.Option<JobView>> =>
      Effect.gen(function*() {
        const manifest = yield* fs.readFileString(path.join(jobsDir, `${jobId}.manifest.json`)).pipe(
          Effect.map(decodeManifest),
          Effect.orElseSucceed(() => Option.none())
        )
        if (Option.isNone(manifest)) return Option.none()
        const submission = yield* fs.readFileString(path.join(jobsDir, `${jobId}.submission.json`)).pipe(
          Effect.map(decodeSubmission),
          Effect.orElseSucceed(() => Option.none())
        )
        const view: JobView = {
          jobId,
          digest: manifest.value.digest,
          files: manifest.value.files.map((file) => file.path),
          status: Option.match(submission, { onNone: () => "rendered" as const, onSome: (s) => s.state }),
          ...Option.match(submission, { onNone: () => ({}), onSome: (s) => ({ submission: s }) })
        }
        return Option.some(view)
      })

    const get = (jobId: string): Effect.Effect<Option.Option<JobView>> => {
      if (!JobFolder.isJobId(jobId)) return Effect.succeed(Option.none())
      const known = records.get(jobId)
      return known === undefined ? readBack(jobId) : Effect.succeed(Option.some(known))
    }

    return { create, get }
  })
/* eslint-enable max-lines-per-function */

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<Jobs, JobStore.JobStoreError, FileSystem.FileSystem | Path.Path> => Layer.scoped(Jobs, make(options))

/**
 * A `Jobs` for tests, built with Effect's `Layer.mock`: the operations given, and any other dies with an
 * `UnimplementedError` when called.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest = (implementation: Layer.PartialEffectful<Service>): Layer.Layer<Jobs> =>
  Layer.mock(Jobs, implementation)
