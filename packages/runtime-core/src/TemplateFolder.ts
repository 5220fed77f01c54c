/**
 * Template files a runtime builds its job from: FLARE configs kept as files beside the runtime module
 * (`templates/` by default, as in the official quickstart), read once, decoded with `@fedkit/flare-config`'s schemas
 * and handed to the template as typed, frozen values. A template changes them by building new values, never by
 * editing text.
 *
 * Reading is synchronous on purpose: the contract's `template` is a synchronous function, and the folder is read
 * once per runtime and cached.
 *
 * @since 0.1.0
 */
import { ClientConfig, JobMeta, ServerConfig } from "@fedkit/flare-config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { fileURLToPath } from "node:url"
import * as Issue from "./Issue.js"
import { checkPath } from "./JobFiles.js"
import * as JsonBody from "./JsonBody.js"

/**
 * One declared template file: where it is in the folder and how it is read.
 *
 * @since 0.1.0
 * @category models
 */
export interface TemplateFile<A> {
  readonly path: string
  /** Reads the file's bytes; issues are relative to the file. */
  readonly read: (bytes: Uint8Array) => Either.Either<A, ReadonlyArray<Issue.Issue>>
}

/**
 * @since 0.1.0
 * @category models
 */
export type Declarations = { readonly [name: string]: TemplateFile<unknown> }

/**
 * The values of loaded templates, by declared name.
 *
 * @since 0.1.0
 * @category models
 */
export type Loaded<D extends Declarations> = { readonly [K in keyof D]: D[K] extends TemplateFile<infer A> ? A : never }

/**
 * Templates are trusted more than request bodies, but not read without bounds.
 *
 * @since 0.1.0
 * @category constants
 */
export const templateLimits: JsonBody.Limits = { maxBytes: 4 * 1024 * 1024, maxDepth: 64, maxIssues: 50 }

/**
 * A JSON template decoded with any schema (exact: unknown keys are errors).
 *
 * @since 0.1.0
 * @category constructors
 */
export const json = <A, I>(path: string, schema: Schema.Schema<A, I, never>): TemplateFile<A> => ({
  path,
  read: (bytes) =>
    JsonBody.scanEither(bytes, templateLimits).pipe(
      Either.mapLeft((rejection) => rejection.issues),
      Either.flatMap(({ issues, value }) => issues.length > 0 ? Either.left(issues) : Either.right(value)),
      Either.flatMap((value) =>
        Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })(value).pipe(
          Either.mapLeft(Issue.fromParseError)
        )
      )
    )
})

/**
 * A text template (UTF-8), for files that are not JSON.
 *
 * @since 0.1.0
 * @category constructors
 */
export const text = (path: string): TemplateFile<string> => ({
  path,
  read: (bytes) =>
    bytes.byteLength > templateLimits.maxBytes
      ? Either.left([{ path: "(root)", message: `the file is larger than ${templateLimits.maxBytes} bytes` }])
      : Either.try({
        try: () => new TextDecoder("utf-8", { fatal: true }).decode(bytes),
        catch: () => [{ path: "(root)", message: "the file is not valid UTF-8 text" }]
      })
})

/**
 * A `meta.json` template.
 *
 * @since 0.1.0
 * @category constructors
 */
export const meta = (path: string = JobMeta.FILE): TemplateFile<JobMeta.JobMeta> => json(path, JobMeta.JobMeta)

/**
 * A `config_fed_server.json` template.
 *
 * @since 0.1.0
 * @category constructors
 */
export const serverConfig = (path: string = ServerConfig.FILE): TemplateFile<ServerConfig.ServerConfig> =>
  json(path, ServerConfig.ServerConfig)

/**
 * A `config_fed_client.json` template.
 *
 * @since 0.1.0
 * @category constructors
 */
export const clientConfig = (path: string = ClientConfig.FILE): TemplateFile<ClientConfig.ClientConfig> =>
  json(path, ClientConfig.ClientConfig)

/**
 * The official quickstart's layout: `meta.json`, `config_fed_server.json` and `config_fed_client.json` at the top of
 * the folder.
 *
 * @since 0.1.0
 * @category constructors
 */
export const standard = () => ({ meta: meta(), server: serverConfig(), client: clientConfig() })

/**
 * The template folder could not be read, or a file in it does not decode. Issue paths are `file` or
 * `file:path.in.file`.
 *
 * @since 0.1.0
 * @category errors
 */
export class TemplateFolderError extends Schema.TaggedError<TemplateFolderError>()("TemplateFolderError", {
  folder: Schema.String,
  issues: Schema.Array(Issue.Issue)
}) {
  override get message(): string {
    const shown = this.issues.slice(0, 3).map((issue) => `${issue.path}: ${issue.message}`).join("; ")
    return `Template folder ${this.folder} is not usable: ${shown}${
      this.issues.length > 3 ? `; and ${this.issues.length - 3} more` : ""
    }.`
  }
}

/**
 * A folder given as a path or a `file:` URL (`new URL("./templates/", import.meta.url)`), made absolute.
 *
 * @since 0.1.0
 */
export const resolveFolder = (folder: string | URL): string =>
  nodePath.resolve(typeof folder === "string" && !folder.startsWith("file:") ? folder : fileURLToPath(folder))

const inFile = (file: string) => (issue: Issue.Issue): Issue.Issue => ({
  path: issue.path === "(root)" ? file : `${file}:${issue.path}`,
  message: issue.message
})

const errorCode = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined

/** Reads one declared file, refusing anything that is not a regular file inside the folder. */
const readFile = (root: string, file: TemplateFile<unknown>): Either.Either<unknown, ReadonlyArray<Issue.Issue>> => {
  const problem = checkPath(file.path)
  if (problem !== undefined) return Either.left([{ path: file.path, message: problem }])
  const absolute = nodePath.join(root, ...file.path.split("/"))
  return Either.try({
    try: () => {
      const stats = fs.lstatSync(absolute)
      if (stats.isSymbolicLink()) return "is a symbolic link; templates must be regular files in the folder"
      if (!stats.isFile()) return "is not a regular file"
      if (stats.size > templateLimits.maxBytes) return `is larger than ${templateLimits.maxBytes} bytes`
      const real = fs.realpathSync(absolute)
      if (!real.startsWith(root + nodePath.sep)) return "resolves to a location outside the template folder"
      return fs.readFileSync(absolute)
    },
    catch: (error) =>
      errorCode(error) === "ENOENT" ? "is missing" : `could not be read (${errorCode(error) ?? "error"})`
  }).pipe(
    Either.flatMap((outcome) => typeof outcome === "string" ? Either.left(outcome) : Either.right(outcome)),
    Either.mapLeft((message) => [{ path: file.path, message }]),
    Either.flatMap((bytes) => Either.mapLeft(file.read(bytes), (issues) => issues.map(inFile(file.path))))
  )
}

const deepFreeze = <A>(value: A): A => {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key])
  }
  return value
}

/**
 * Reads and decodes every declared file of `folder`, reporting all problems at once. Values are deeply frozen, so a
 * template cannot change what the next render starts from.
 *
 * @since 0.1.0
 * @category loading
 */
export const loadEither = <D extends Declarations>(
  folder: string | URL,
  declarations: D
): Either.Either<Loaded<D>, TemplateFolderError> => {
  const shown = resolveFolder(folder)
  const root = Either.try(() => fs.realpathSync(shown))
  if (Either.isLeft(root)) {
    return Either.left(
      new TemplateFolderError({ folder: shown, issues: [{ path: "(root)", message: "the folder does not exist" }] })
    )
  }
  const issues: Array<Issue.Issue> = []
  const loaded: Record<string, unknown> = {}
  for (const [name, file] of Object.entries(declarations)) {
    const result = readFile(root.right, file)
    if (Either.isLeft(result)) issues.push(...result.left)
    else loaded[name] = deepFreeze(result.right)
  }
  return issues.length > 0
    ? Either.left(new TemplateFolderError({ folder: shown, issues }))
    : Either.right(loaded as Loaded<D>)
}

/**
 * @since 0.1.0
 * @category loading
 */
export const load = <D extends Declarations>(
  folder: string | URL,
  declarations: D
): Effect.Effect<Loaded<D>, TemplateFolderError> => Effect.suspend(() => loadEither(folder, declarations))
