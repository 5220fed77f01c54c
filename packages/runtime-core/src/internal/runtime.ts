// What `defineRuntime` and the module loader share: a runtime's Effect core made into the contract's functions, and
// a template call made safe (a throw, a defect or an invalid job becomes `TemplateFailed`).
import type { FlareTarget } from "@fedkit/flare-config"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import { identity } from "effect/Function"
import * as Option from "effect/Option"
import * as JobFiles from "../JobFiles.js"
import type * as JsonBody from "../JsonBody.js"
import type { InvalidPayload, PayloadRejected } from "../Rejection.js"
import { type Runtime, type TemplateError, TemplateFailed, type TemplateOptions, TypeId } from "../Runtime.js"
import { clip } from "./text.js"

/** The value, or the typed error thrown as it is: the contract's functions report errors by throwing. */
export const orThrow = <A, E>(either: Either.Either<A, E>): A => Either.getOrThrowWith(either, identity)

/**
 * Runs a template call for the contract's synchronous `template` function. This is the one place runtime-core runs
 * an Effect itself: the contract requires a plain function, and a template may return an Effect (flare-config's
 * builders are `yield*`ed), which nothing but running it turns into files. Everything else has a synchronous core.
 */
export const runOrThrow = <A, E>(effect: Effect.Effect<A, E>): A => {
  const exit = Effect.runSyncExit(effect)
  if (Exit.isSuccess(exit)) return exit.value
  const failure = Cause.failureOption(exit.cause)
  // The contract's functions report errors by throwing, as the Python contract raises ValueError.
  // eslint-disable-next-line no-restricted-syntax
  throw Option.isSome(failure) ? failure.value : Cause.squash(exit.cause)
}

/** Wraps a template function call: a throw, a defect or an invalid job becomes `TemplateFailed`. */
export const runTemplate = (
  call: () => unknown,
  target: FlareTarget.FlareTarget | undefined
): Effect.Effect<JobFiles.JobFiles, TemplateFailed> =>
  Effect.try({ try: call, catch: (error) => error }).pipe(
    Effect.flatMap((result) =>
      Effect.isEffect(result) ? (result as Effect.Effect<unknown, unknown>) : Effect.succeed(result)
    ),
    Effect.catchAllDefect((defect) => Effect.fail(defect)),
    Effect.mapError((error) =>
      error instanceof TemplateFailed
        ? error
        : new TemplateFailed({ reason: `the template function failed: ${describeError(error)}`, issues: [] })
    ),
    Effect.flatMap((output) =>
      Effect.mapError(
        JobFiles.render(output, target === undefined ? {} : { target }),
        (invalid) => new TemplateFailed({ reason: "the template returned an invalid job", issues: invalid.issues })
      )
    )
  )

export const describeError = (error: unknown): string =>
  error instanceof Error ? clip(`${error.name}: ${error.message}`) : clip(String(error))

export interface Core<A> {
  readonly limits: JsonBody.Limits
  readonly templateFolder: string | undefined
  /** Synchronous cores: parsing and checking a payload never needs a fiber. */
  readonly parse: (body: string | Uint8Array) => Either.Either<A, PayloadRejected>
  readonly validate: (payload: A) => Either.Either<void, InvalidPayload>
  readonly template: (
    payload: A,
    dataset2gw: unknown,
    options?: TemplateOptions
  ) => Effect.Effect<JobFiles.JobFiles, TemplateError>
  readonly encode: (payload: A) => JsonBody.JsonRecord
  readonly withTemplateFolder: (folder: string | URL) => Runtime<A>
}

export const fromCore = <A>(core: Core<A>): Runtime<A> => {
  /** `parse` then `validate`, in one synchronous step. */
  const checked = (body: string | Uint8Array): Either.Either<A, PayloadRejected> =>
    Either.flatMap(core.parse(body), (payload) => Either.map(core.validate(payload), () => payload))
  return {
    [TypeId]: TypeId,
    limits: core.limits,
    templateFolder: core.templateFolder,
    parse: (body) => orThrow(core.parse(body)),
    validate: (payload) => orThrow(core.validate(payload)),
    template: (payload, dataset2gw, options) => runOrThrow(core.template(payload, dataset2gw, options)),
    encode: core.encode,
    parseEffect: (body) => Effect.suspend(() => core.parse(body)),
    validateEffect: (payload) => Effect.suspend(() => core.validate(payload)),
    templateEffect: core.template,
    renderEffect: (body, dataset2gw, options) =>
      Effect.flatMap(Effect.suspend(() => checked(body)), (payload) => core.template(payload, dataset2gw, options)),
    withTemplateFolder: core.withTemplateFolder
  }
}
