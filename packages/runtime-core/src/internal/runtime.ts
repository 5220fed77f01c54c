// What `defineRuntime` and the module loader share: a runtime's Effect core made into the contract's functions, and
// a template call made safe (a throw, a defect or an invalid job becomes `TemplateFailed`).
import type { FlareTarget } from "@fedkit/flare-config"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import { identity } from "effect/Function"
import * as Option from "effect/Option"
import { type YieldWrap, yieldWrapGet } from "effect/Utils"
import * as JobFiles from "../JobFiles.js"
import type * as JsonBody from "../JsonBody.js"
import type { InvalidPayload, PayloadRejected } from "../Rejection.js"
import { type Runtime, type TemplateError, TemplateFailed, type TemplateOptions, TypeId } from "../Runtime.js"
import { clip } from "./text.js"

/** The value, or the typed error thrown as it is: the contract's functions report errors by throwing. */
export const orThrow = <A, E>(either: Either.Either<A, E>): A => Either.getOrThrowWith(either, identity)

/**
 * Runs a template call for the contract's synchronous `template` function. A template that needed no fiber answered
 * with an `Either`, which is read as it is; any other Effect (a template returning `Effect.gen`, whose builders are
 * `yield*`ed) is run here: the contract requires a plain function, and nothing but running it turns it into files.
 */
export const runOrThrow = <A, E>(effect: Effect.Effect<A, E>): A => {
  if (Either.isEither(effect)) return orThrow(effect as Either.Either<A, E>)
  const exit = Effect.runSyncExit(effect)
  if (Exit.isSuccess(exit)) return exit.value
  const failure = Cause.failureOption(exit.cause)
  // The contract's functions report errors by throwing, as the Python contract raises ValueError.
  // eslint-disable-next-line no-restricted-syntax -- the contract's parse/validate/template throw, as Python's raise
  throw Option.isSome(failure) ? failure.value : Cause.squash(exit.cause)
}

/**
 * `Effect.flatMap`, answered at once when `self` is an `Either` (an Effect that needs no fiber): a chain of steps
 * that need none stays an `Either`, which callers without a fiber read as it is.
 */
export const flatMapEager = <A, E, B, E2>(
  self: Effect.Effect<A, E>,
  f: (a: A) => Effect.Effect<B, E2>
): Effect.Effect<B, E | E2> => {
  if (!Either.isEither(self)) return Effect.flatMap(self, f)
  const either = self as Either.Either<A, E>
  return Either.isLeft(either) ? Either.left(either.left) : f(either.right)
}

const templateFailed = (error: unknown): TemplateFailed =>
  error instanceof TemplateFailed
    ? error
    : new TemplateFailed({ reason: `the template function failed: ${describeError(error)}`, issues: [] })

/** A generator object, as a `function*` template returns: stepped here, see {@link stepGenerator}. */
const isGenerator = (u: unknown): u is Iterator<unknown, unknown, unknown> =>
  typeof u === "object" && u !== null && !Effect.isEffect(u) && typeof (u as Iterator<unknown>).next === "function" &&
  typeof (u as Iterable<unknown>)[Symbol.iterator] === "function"

/**
 * Runs a `function*` template as `Effect.gen` would run it, from `state` on: each `yield*`ed `Either` (what
 * flare-config's builders return) is answered at once, without a fiber; the first other Effect is run in one, and the
 * generator carries on from there. A `Left` ends it with that failure, as in `Effect.gen`. What it throws is thrown.
 */
const stepGenerator = (
  iterator: Iterator<unknown, unknown, unknown>,
  state: IteratorResult<unknown, unknown>
): Effect.Effect<unknown, unknown> => {
  while (state.done !== true) {
    const yielded: unknown = yieldWrapGet(state.value as YieldWrap<Effect.Effect<unknown, unknown>>)
    if (!Either.isEither(yielded)) {
      return Effect.flatMap(
        yielded as Effect.Effect<unknown, unknown>,
        (value) => Effect.suspend(() => stepGenerator(iterator, iterator.next(value)))
      )
    }
    if (Either.isLeft(yielded)) return yielded
    state = iterator.next(yielded.right)
  }
  return Either.right(state.value)
}

/** The template's output checked and written as files; an invalid job is the template's fault. */
const toFiles = (output: unknown, target: FlareTarget.FlareTarget | undefined) =>
  Either.mapLeft(
    JobFiles.render(output, target === undefined ? {} : { target }),
    (invalid) => new TemplateFailed({ reason: "the template returned an invalid job", issues: invalid.issues })
  )

/**
 * Wraps a template function call: a throw, a defect, a failure or an invalid job becomes `TemplateFailed`. What
 * needs no fiber (a plain output, an `Either`, a `function*` template that only `yield*`s `Either`s) is answered at
 * once, as an `Either`; an Effect that needs a fiber is run by the caller's.
 */
export const runTemplate = (
  call: () => unknown,
  target: FlareTarget.FlareTarget | undefined
): Effect.Effect<JobFiles.JobFiles, TemplateFailed> => {
  let result: unknown
  try {
    result = call()
    if (isGenerator(result)) result = stepGenerator(result, result.next())
  } catch (error) {
    return Either.left(templateFailed(error))
  }
  if (Either.isEither(result)) {
    return Either.isLeft(result) ? Either.left(templateFailed(result.left)) : toFiles(result.right, target)
  }
  if (!Effect.isEffect(result)) return toFiles(result, target)
  return (result as Effect.Effect<unknown, unknown>).pipe(
    Effect.catchAllDefect((defect) => Effect.fail(defect)),
    Effect.mapError(templateFailed),
    Effect.flatMap((output) => toFiles(output, target))
  )
}

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
