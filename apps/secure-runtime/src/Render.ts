/**
 * One render: a request body through the runtime's `parse` → `validate` → `template`, and the files into a checked
 * `@fedkit/job-packager` package (paths, FLARE rules, SHA-256 digest). Nothing here touches the disk.
 *
 * @since 0.1.0
 */
import { JobMeta } from "@fedkit/flare-config"
import { JobPackage } from "@fedkit/job-packager"
import type { Dataset2Gw, Runtime } from "@fedkit/runtime-core"
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

/**
 * The second half of a render: a payload {@link check} gave through the runtime's `template`, and the files into a
 * checked package.
 *
 * @since 0.1.0
 */
export const build = (
  runtime: Runtime.Runtime<unknown>,
  payload: unknown,
  dataset2gw: Dataset2Gw.Dataset2Gw,
  name: JobName
): Effect.Effect<JobPackage.JobPackage, RenderFailure> =>
  Effect.suspend(() => runtime.templateEffect(payload, dataset2gw)).pipe(
    Effect.mapError(classify),
    Effect.catchAllDefect((defect) =>
      Effect.fail(new TemplateBroken({ reason: `the runtime failed: ${describeError(defect)}`, issues: [] }))
    ),
    Effect.flatMap((files) =>
      JobPackage.make(typeof name === "string" ? name : name(files), files).pipe(
        Effect.mapError((invalid) => classify(invalid))
      )
    )
  )

/**
 * Renders a body into a checked package: {@link check}, then {@link build}. Whatever the runtime throws, including
 * defects, becomes a {@link RenderFailure}: a bad payload can never take the caller down.
 *
 * @since 0.1.0
 */
export const render = (
  runtime: Runtime.Runtime<unknown>,
  body: string | Uint8Array,
  dataset2gw: Dataset2Gw.Dataset2Gw,
  name: JobName
): Effect.Effect<JobPackage.JobPackage, RenderFailure> =>
  Effect.flatMap(Effect.suspend(() => check(runtime, body)), (payload) => build(runtime, payload, dataset2gw, name))
