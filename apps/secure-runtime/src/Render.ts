/**
 * One render: a request body through the runtime's `parse` → `validate` → `template`, and the files into a checked
 * `@fedkit/job-packager` package (paths, FLARE rules, SHA-256 digest). Nothing here touches the disk.
 *
 * @since 0.1.0
 */
import { JobMeta } from "@fedkit/flare-config"
import { JobPackage } from "@fedkit/job-packager"
import type { Dataset2Gw, JobFiles, Runtime } from "@fedkit/runtime-core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { describeError } from "./internal/text.js"
import { classify, type RenderFailure, TemplateBroken } from "./Refusal.js"

/**
 * The job's folder name: given, or chosen from the rendered files (see {@link nameFromMeta}).
 *
 * @since 0.1.0
 * @category models
 */
export type JobName = string | ((files: Readonly<Record<string, string>>) => string)

/**
 * The `name` in the rendered `meta.json` when it is a valid FLARE job name, else `"job"`.
 *
 * @since 0.1.0
 */
export const nameFromMeta = (files: Readonly<Record<string, string>>): string => {
  try {
    const meta: unknown = JSON.parse(files[JobMeta.FILE] ?? "null")
    const name = typeof meta === "object" && meta !== null && "name" in meta ? meta.name : undefined
    return typeof name === "string" && JobMeta.JOB_NAME_PATTERN.test(name) && name.length <= 255 ? name : "job"
  } catch {
    return "job"
  }
}

/**
 * The first half of a render: the body through the runtime's `parse` and `validate`, synchronously (the contract's
 * functions throw their typed errors; whatever they throw becomes a {@link RenderFailure}). The payload it gives is
 * the runtime's own parsed value, which {@link build} passes on without decoding it again.
 *
 * @since 0.1.0
 */
export const check = (
  runtime: Runtime.Runtime<unknown>,
  body: string | Uint8Array
): Either.Either<unknown, RenderFailure> =>
  Either.try({
    try: () => {
      const payload = runtime.parse(body)
      runtime.validate(payload)
      return payload
    },
    catch: classify
  })

const runtimeFailed = (defect: unknown): RenderFailure =>
  new TemplateBroken({ reason: `the runtime failed: ${describeError(defect)}`, issues: [] })

/** The rendered files into a checked package. */
const packaged = (
  files: JobFiles.JobFiles,
  name: JobName
): Effect.Effect<JobPackage.JobPackage, RenderFailure> => {
  let pkg: Either.Either<JobPackage.JobPackage, JobPackage.InvalidJob>
  try {
    pkg = JobPackage.make(typeof name === "string" ? name : name(files), files)
  } catch (defect) {
    return Effect.die(defect)
  }
  return Either.isLeft(pkg) ? Either.left(classify(pkg.left)) : Either.right(pkg.right)
}

/**
 * The second half of a render: a payload {@link check} gave through the runtime's `template`, and the files into a
 * checked package. It runs when called: when the runtime's template needs no fiber (see `defineRuntime`), the
 * answer is an `Either` (an Effect too, which `Effect.runSync` reads without starting one).
 *
 * @since 0.1.0
 */
export const build = (
  runtime: Runtime.Runtime<unknown>,
  payload: unknown,
  dataset2gw: Dataset2Gw.Dataset2Gw,
  name: JobName
): Effect.Effect<JobPackage.JobPackage, RenderFailure> => {
  let files: Effect.Effect<JobFiles.JobFiles, unknown>
  try {
    files = runtime.templateEffect(payload, dataset2gw)
  } catch (defect) {
    return Either.left(runtimeFailed(defect))
  }
  if (Either.isEither(files)) {
    const rendered = files as Either.Either<JobFiles.JobFiles, unknown>
    return Either.isLeft(rendered) ? Either.left(classify(rendered.left)) : packaged(rendered.right, name)
  }
  return files.pipe(
    Effect.mapError(classify),
    Effect.catchAllDefect((defect) => Effect.fail(runtimeFailed(defect))),
    Effect.flatMap((rendered) => packaged(rendered, name))
  )
}

/**
 * Renders a body into a checked package: {@link check}, then {@link build}, when called (an `Either` when nothing in
 * it needs a fiber). Whatever the runtime throws, including defects, becomes a {@link RenderFailure}: a bad payload
 * can never take the caller down.
 *
 * @since 0.1.0
 */
export const render = (
  runtime: Runtime.Runtime<unknown>,
  body: string | Uint8Array,
  dataset2gw: Dataset2Gw.Dataset2Gw,
  name: JobName
): Effect.Effect<JobPackage.JobPackage, RenderFailure> => {
  const checked = check(runtime, body)
  return Either.isLeft(checked) ? Either.left(checked.left) : build(runtime, checked.right, dataset2gw, name)
}
