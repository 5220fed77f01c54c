/**
 * A Secure Runtime module: the contract's three functions, `parse(body)`, `validate(payload)` and
 * `template(payload, dataset2gw)`, made from a payload Schema and a template function with {@link defineRuntime},
 * with Effect versions of each. The app that hosts runtimes loads them with `ModuleLoader.loadRuntimeModule`.
 *
 * @since 0.1.0
 */
import { CompiledSchema, type FlareTarget } from "@fedkit/flare-config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { YieldWrap } from "effect/Utils"
import * as Dataset2Gw from "./Dataset2Gw.js"
import { flatMapEager, fromCore, orThrow, runTemplate } from "./internal/runtime.js"
import { withoutStack } from "./internal/stackless.js"
import * as Issue from "./Issue.js"
import type * as JobFiles from "./JobFiles.js"
import * as JsonBody from "./JsonBody.js"
import { InvalidPayload, type PayloadRejected } from "./Rejection.js"
import * as TemplateFolder from "./TemplateFolder.js"

/**
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = Symbol.for("@fedkit/runtime-core/Runtime")

/**
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * What a template function receives besides the payload.
 *
 * @since 0.1.0
 * @category models
 */
export interface TemplateContext<T> {
  /** The decoded map from dataset id to gateway id. */
  readonly dataset2gw: Dataset2Gw.Dataset2Gw
  /** The distinct gateways, sorted. */
  readonly gateways: ReadonlyArray<Dataset2Gw.GatewayId>
  /** The number of distinct gateways. */
  readonly minClients: number
  /** The declared template files, decoded and frozen. */
  readonly templates: T
}

/**
 * A template function failed or returned something that is not a job. This is a fault of the runtime module, not
 * of the payload: a server answers 500 and logs `reason`.
 *
 * @since 0.1.0
 * @category errors
 */
export class TemplateFailed extends Schema.TaggedError<TemplateFailed>()("TemplateFailed", {
  reason: Schema.String,
  issues: Schema.Array(Issue.Issue)
}) {
  override get message(): string {
    return `The runtime's template failed: ${this.reason}`
  }
}

/**
 * Everything `template` can fail with.
 *
 * @since 0.1.0
 * @category models
 */
export type TemplateError =
  | InvalidPayload
  | Dataset2Gw.InvalidDataset2Gw
  | TemplateFolder.TemplateFolderError
  | TemplateFailed

/**
 * What {@link defineRuntime} takes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Definition<A, I, D extends TemplateFolder.Declarations> {
  /** The payload: a Schema whose encoded side is a JSON object. Defaults it declares are applied by `parse`. */
  readonly payload: Schema.Schema<A, I, never>
  /** Checks across fields that the Schema does not express; returns the problems found (none: valid). */
  readonly validate?: (payload: A) => ReadonlyArray<Issue.Issue>
  /** Template files to load (see `TemplateFolder`); the template receives them decoded, by name. */
  readonly templates?: D
  /**
   * Where the template files are. Default: `templates/` beside the module, when the module is loaded with
   * `loadRuntimeModule(namespace, { moduleUrl })`.
   */
  readonly templateFolder?: string | URL
  /**
   * Builds the job: a flare-config `FlareJob`, or a file map with JSON files as values; or an Effect of either
   * (synchronous: the contract's `template` is), so flare-config's builders can be `yield*`ed. Throwing or failing
   * is a fault of the module and becomes `TemplateFailed`.
   *
   * The faster form is a generator function (`function*`), written as the body of an `Effect.gen` would be: it is
   * run the same way, but each `yield*`ed `Either` (what flare-config's builders return) is answered at once, without
   * starting a fiber; the first other Effect it yields is run in one, as `Effect.gen` would.
   */
  readonly template: (
    payload: A,
    context: TemplateContext<TemplateFolder.Loaded<D>>
  ) =>
    | JobFiles.TemplateOutput
    | Effect.Effect<JobFiles.TemplateOutput, unknown>
    | Generator<YieldWrap<Effect.Effect<unknown, unknown, never>>, JobFiles.TemplateOutput, never>
  /** The FLARE release a file map is checked for (default `"2.9"`); a `FlareJob` carries its own. */
  readonly target?: FlareTarget.FlareTarget
  readonly limits?: Partial<JsonBody.Limits>
  /** Whether a field the Schema does not declare is an error (default) or dropped. */
  readonly exact?: boolean
}

/**
 * Per-call options of `template`, as in the Python contract's keyword argument.
 *
 * @since 0.1.0
 * @category models
 */
export interface TemplateOptions {
  readonly templateFolder?: string | URL
}

/**
 * A runtime module. The plain functions follow the contract (they throw the typed errors); the `…Effect` versions
 * fail with them. All functions are bound: `const { parse } = runtime` works.
 *
 * The functions that take a payload are declared as methods, which TypeScript checks bivariantly, so any
 * `Runtime<A>` is a `Runtime<unknown>` (what `loadRuntimeModule` returns). That is sound because they check their
 * payload at run time: a value that is not a valid payload fails with `InvalidPayload`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Runtime<A> {
  readonly [TypeId]: TypeId
  readonly limits: JsonBody.Limits
  /** The template folder set by the definition or by `withTemplateFolder`, if any. */
  readonly templateFolder: string | undefined
  /** Parses a request body into a payload, applying defaults. Throws a `PayloadRejected`. */
  readonly parse: (body: string | Uint8Array) => A
  /** Checks a payload (parsed, or its JSON form as a Python shim passes it back). Throws `InvalidPayload`. */
  validate(payload: A): void
  /** Builds the job files. Throws a {@link TemplateError}. */
  template(payload: A, dataset2gw: unknown, options?: TemplateOptions): JobFiles.JobFiles
  /** The JSON form of a payload (defaults included), for handing it across a process boundary. */
  encode(payload: A): JsonBody.JsonRecord
  readonly parseEffect: (body: string | Uint8Array) => Effect.Effect<A, PayloadRejected>
  validateEffect(payload: A): Effect.Effect<void, InvalidPayload>
  templateEffect(
    payload: A,
    dataset2gw: unknown,
    options?: TemplateOptions
  ): Effect.Effect<JobFiles.JobFiles, TemplateError>
  /** `parse`, `validate` and `template` in one. */
  readonly renderEffect: (
    body: string | Uint8Array,
    dataset2gw: unknown,
    options?: TemplateOptions
  ) => Effect.Effect<JobFiles.JobFiles, PayloadRejected | TemplateError>
  /** The same runtime reading its templates from `folder`. */
  readonly withTemplateFolder: (folder: string | URL) => Runtime<A>
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isRuntime = (u: unknown): u is Runtime<unknown> => Predicate.hasProperty(u, TypeId)

/**
 * Makes a runtime module from a payload Schema and a template function. The README has a complete module built
 * with flare-config's builders; this one returns a file map.
 *
 * @example
 * ```ts
 * import { Dataset2Gw, defineRuntime } from "@fedkit/runtime-core"
 * import { Schema } from "effect"
 *
 * export default defineRuntime({
 *   payload: Schema.Struct({
 *     num_rounds: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 100)), { default: () => 5 })
 *   }),
 *   template: (payload, { dataset2gw, minClients }) => ({
 *     "meta.json": { name: "job", deploy_map: Dataset2Gw.deployMapShared(dataset2gw), min_clients: minClients },
 *     "app/config/config_fed_server.json": {
 *       format_version: 2,
 *       workflows: [{
 *         path: "nvflare.app_common.workflows.fedavg.FedAvg",
 *         args: { num_clients: minClients, num_rounds: payload.num_rounds, persistor_id: "" }
 *       }]
 *     },
 *     "app/config/config_fed_client.json": {
 *       format_version: 2,
 *       executors: [{ tasks: ["train"], executor: { path: "nvflare.app_common.np.np_trainer.NPTrainer", args: {} } }]
 *     }
 *   })
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
// eslint-disable-next-line max-lines-per-function -- parse, validate and template close over one set of decoders built once per runtime
export const defineRuntime = <A, I, D extends TemplateFolder.Declarations = Record<never, never>>(
  definition: Definition<A, I, D>
): Runtime<A> => {
  const limits = Either.getOrThrowWith(
    JsonBody.makeLimits(definition.limits),
    (invalid) => new TypeError(`defineRuntime: invalid limits: ${invalid.message}`)
  )
  const options = {
    errors: "all",
    onExcessProperty: definition.exact === false ? "ignore" : "error"
  } as const
  // Compiled once per runtime (flare-config's CompiledSchema: Effect's verdict and output, Effect's issues on
  // failure). The parse issue itself, not a ParseError: a rejected payload then costs no Error (and no stack trace).
  const decode = CompiledSchema.decodeUnknownIssueEither(definition.payload, options)
  const isPayload = CompiledSchema.is(Schema.typeSchema(definition.payload))
  const encodePayload = Schema.encodeSync(definition.payload)
  const declarations = definition.templates ?? ({} as D)
  const hasTemplates = Object.keys(declarations).length > 0

  /** An `InvalidPayload` from issues known to be well-formed (the scanner's, the Schema's, or `validate`'s). */
  const invalid = (issues: ReadonlyArray<Issue.Issue>) =>
    withoutStack(() => new InvalidPayload({ issues: Issue.cap(issues, limits.maxIssues) }, { disableValidation: true }))

  const parse = (body: string | Uint8Array): Either.Either<A, PayloadRejected> =>
    Either.flatMap(JsonBody.scanEither(body, limits), ({ issues: contentIssues, value }) => {
      const decoded = decode(value)
      if (Either.isRight(decoded) && contentIssues.length === 0) return Either.right(decoded.right)
      const schemaIssues = Either.isLeft(decoded) ? Issue.fromParseIssue(decoded.left) : []
      return Either.left(invalid(Issue.merge(contentIssues, schemaIssues)))
    })

  /** A parsed payload passes as it is; its JSON form (from a Python shim) is decoded again. */
  const coerce = (payload: unknown): Either.Either<A, InvalidPayload> =>
    isPayload(payload) ?
      Either.right(payload) :
      Either.mapLeft(decode(payload), (error) => invalid(Issue.fromParseIssue(error)))

  const validate = (payload: A): Either.Either<void, InvalidPayload> =>
    Either.flatMap(coerce(payload), (typed) => {
      const issues = definition.validate?.(typed) ?? []
      // A module's own issues are checked by the constructor: they come from code this package does not control.
      return issues.length === 0
        ? Either.void
        : Either.left(withoutStack(() => new InvalidPayload({ issues: Issue.cap(issues, limits.maxIssues) })))
    })

  const make = (templateFolder: string | undefined): Runtime<A> => {
    const cache = new Map<string, TemplateFolder.Loaded<D>>()
    /** The declared templates: at once when none are declared or the folder's are cached, else read. */
    const loadTemplates = (
      folder: string | undefined
    ): Effect.Effect<TemplateFolder.Loaded<D>, TemplateFolder.TemplateFolderError> => {
      if (!hasTemplates) return Either.right({} as TemplateFolder.Loaded<D>)
      if (folder === undefined) {
        return Either.left(
          new TemplateFolder.TemplateFolderError({
            folder: "(none)",
            issues: [{
              path: "(root)",
              message:
                "no template folder: set templateFolder in defineRuntime, or load the module with loadRuntimeModule(namespace, { moduleUrl })"
            }]
          })
        )
      }
      const cached = cache.get(folder)
      if (cached !== undefined) return Either.right(cached)
      return TemplateFolder.load(folder, declarations).pipe(Effect.tap((loaded) => cache.set(folder, loaded)))
    }

    // Run when called, not when the Effect is: what needs no fiber (the payload and map checks, cached templates, a
    // template of `Either`s) answers as an `Either`. A throw is a defect, as it would be inside `Effect.suspend`.
    const template = (
      payload: A,
      dataset2gw: unknown,
      callOptions?: TemplateOptions
    ): Effect.Effect<JobFiles.JobFiles, TemplateError> => {
      try {
        const typed = coerce(payload)
        if (Either.isLeft(typed)) return Either.left(typed.left)
        const map = Dataset2Gw.decode(dataset2gw)
        if (Either.isLeft(map)) return Either.left(map.left)
        const folder = callOptions?.templateFolder === undefined
          ? templateFolder
          : TemplateFolder.resolveFolder(callOptions.templateFolder)
        const gateways = Dataset2Gw.gateways(map.right)
        return flatMapEager(
          loadTemplates(folder),
          (templates) =>
            runTemplate(() =>
              definition.template(typed.right, {
                dataset2gw: map.right,
                gateways,
                minClients: gateways.length,
                templates
              }), definition.target)
        )
      } catch (defect) {
        return Effect.die(defect)
      }
    }

    return fromCore({
      limits,
      templateFolder,
      parse,
      validate,
      template,
      encode: (payload) => orThrow(Either.map(coerce(payload), (typed) => encodePayload(typed) as JsonBody.JsonRecord)),
      withTemplateFolder: (folder) => make(TemplateFolder.resolveFolder(folder))
    })
  }

  return make(
    definition.templateFolder === undefined ? undefined : TemplateFolder.resolveFolder(definition.templateFolder)
  )
}
