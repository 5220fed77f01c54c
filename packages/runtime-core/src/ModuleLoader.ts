/**
 * Loading a runtime module: `loadRuntimeModule` turns an imported module into a {@link Runtime.Runtime}, a
 * `defineRuntime` default export or hand-written `parse`, `validate` and `template` functions, or says exactly what
 * is missing. For the app that hosts runtimes.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as nodePath from "node:path"
import * as Dataset2Gw from "./Dataset2Gw.js"
import { fromCore, runTemplate } from "./internal/runtime.js"
import { clip } from "./internal/text.js"
import type * as JobFiles from "./JobFiles.js"
import * as JsonBody from "./JsonBody.js"
import { InvalidPayload, isPayloadRejected, type PayloadRejected } from "./Rejection.js"
import { isRuntime, type Runtime, type TemplateError, type TemplateOptions } from "./Runtime.js"
import * as TemplateFolder from "./TemplateFolder.js"

/**
 * A module that cannot serve as a runtime, and why: the exports it lacks and the ones of the wrong kind.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRuntimeModule extends Schema.TaggedError<InvalidRuntimeModule>()("InvalidRuntimeModule", {
  /** Contract functions the module does not export. */
  missing: Schema.Array(Schema.String),
  /** Other problems, one sentence each. */
  problems: Schema.Array(Schema.String)
}) {
  override get message(): string {
    const parts = [
      ...(this.missing.length > 0 ? [`it does not export ${this.missing.join(" or ")}`] : []),
      ...this.problems
    ]
    return `Not a runtime module: ${parts.join("; ")}. Export the functions parse(body), validate(payload) and ` +
      "template(payload, dataset2gw), or a default export made with defineRuntime."
  }
}

const CONTRACT = ["parse", "validate", "template"] as const

interface ContractFunctions {
  readonly parse: (body: string) => unknown
  readonly validate: (payload: unknown) => unknown
  readonly template: (payload: unknown, dataset2gw: unknown, options?: TemplateOptions) => unknown
}

const kindOf = (u: unknown): string =>
  u === null ? "null" : Array.isArray(u) ? "an array" : typeof u === "object" ? "an object" : `a ${typeof u}`

/** What a thrown error from a hand-written `parse` or `validate` means: its message is meant for the user. */
const asRejection = (error: unknown): PayloadRejected =>
  isPayloadRejected(error)
    ? error
    : new InvalidPayload({
      issues: [{ path: "(root)", message: error instanceof Error ? clip(error.message) : clip(String(error)) }]
    })

/**
 * A runtime over hand-written contract functions. The body is screened first with the same checks as
 * `defineRuntime` (size, syntax, depth, prototype keys, a JSON object), so a hand-written `parse` never sees those.
 */
const fromFunctions = (functions: ContractFunctions, templateFolder: string | undefined): Runtime<unknown> => {
  const limits = JsonBody.defaultLimits
  const template = (
    payload: unknown,
    dataset2gw: unknown,
    options?: TemplateOptions
  ): Effect.Effect<JobFiles.JobFiles, TemplateError> =>
    Effect.flatMap(Dataset2Gw.decode(dataset2gw), (map) => {
      const folder = options?.templateFolder === undefined
        ? templateFolder
        : TemplateFolder.resolveFolder(options.templateFolder)
      return runTemplate(
        () => functions.template(payload, { ...map }, folder === undefined ? undefined : { templateFolder: folder }),
        undefined
      )
    })
  return fromCore({
    limits,
    templateFolder,
    parse: (body) =>
      Either.flatMap(JsonBody.parseEither(body, limits), () =>
        Either.try({
          try: () => functions.parse(typeof body === "string" ? body : new TextDecoder().decode(body)),
          catch: asRejection
        })),
    validate: (payload) =>
      Either.try({ try: () => functions.validate(payload), catch: asRejection }).pipe(
        Either.mapBoth({
          onLeft: (rejection) =>
            rejection._tag === "InvalidPayload" ? rejection : new InvalidPayload({ issues: rejection.issues }),
          onRight: () => undefined
        })
      ),
    template,
    encode: (payload) => payload as JsonBody.JsonRecord,
    withTemplateFolder: (folder) => fromFunctions(functions, TemplateFolder.resolveFolder(folder))
  })
}

/**
 * Turns an imported module into a runtime, or says exactly what is missing. Accepted: a default export made with
 * {@link defineRuntime}; or `parse`, `validate` and `template` functions, exported by name or on the default export.
 * With `moduleUrl` (the module's `file:` URL or path), the template folder defaults to `templates/` beside it.
 *
 * @example
 * ```ts
 * import { loadRuntimeModule } from "@fedkit/runtime-core/ModuleLoader"
 * import { pathToFileURL } from "node:url"
 *
 * const url = pathToFileURL("/usr/secure_runtime/src/runtime.js")
 * const runtime = loadRuntimeModule(await import(url.href), { moduleUrl: url })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const loadRuntimeModule = (
  namespace: unknown,
  options: { readonly moduleUrl?: string | URL } = {}
): Either.Either<Runtime<unknown>, InvalidRuntimeModule> => {
  const besideModule = options.moduleUrl === undefined
    ? undefined
    : nodePath.join(nodePath.dirname(TemplateFolder.resolveFolder(options.moduleUrl)), "templates")
  if (typeof namespace !== "object" || namespace === null) {
    return Either.left(
      new InvalidRuntimeModule({ missing: [...CONTRACT], problems: [`the module is ${kindOf(namespace)}`] })
    )
  }
  const exports = namespace as Record<string, unknown>
  const fallback = exports.default
  if (isRuntime(fallback)) {
    return Either.right(
      fallback.templateFolder === undefined && besideModule !== undefined
        ? fallback.withTemplateFolder(besideModule)
        : fallback
    )
  }
  // Contract functions may also sit on a default export object (`export default { parse, validate, template }`).
  const named = CONTRACT.some((name) => exports[name] !== undefined)
  const source = !named && typeof fallback === "object" && fallback !== null
    ? fallback as Record<string, unknown>
    : exports
  const missing = CONTRACT.filter((name) => source[name] === undefined)
  const problems = CONTRACT.flatMap((name) =>
    source[name] !== undefined && typeof source[name] !== "function"
      ? [`${name} is ${kindOf(source[name])}, not a function`]
      : []
  )
  if (!named && fallback !== undefined && (missing.length > 0 || problems.length > 0)) {
    problems.push(`the default export is ${kindOf(fallback)}, not a runtime made with defineRuntime`)
  }
  if (missing.length > 0 || problems.length > 0) {
    return Either.left(new InvalidRuntimeModule({ missing, problems }))
  }
  return Either.right(fromFunctions(source as unknown as ContractFunctions, besideModule))
}
