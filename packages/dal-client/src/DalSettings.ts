/**
 * Settings of the DAL client: read from the `APH_*` environment variables the platform injects into a Compute
 * Gateway, or given in code.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { type ConfigProblem, DalConfigError } from "./DalError.js"
import { DalKey } from "./DalKey.js"

/**
 * Decoded, validated settings.
 *
 * @since 0.1.0
 */
export interface Settings {
  /** Base URL of the DAL, always with a trailing slash. */
  readonly url: string
  readonly token: Redacted.Redacted<string>
  /** Dataset id → key, from `APH_DATA`. */
  readonly data: Readonly<Record<string, DalKey>>
  /** Bounds the wait for response headers and, during a body, for the next bytes (idle); never a whole transfer. */
  readonly timeout: Duration.Duration
  /** How many files move at once. */
  readonly maxWorkers: number
  /** Retries after the first attempt, on transient failures only. */
  readonly retries: number
  /** First backoff ceiling; it doubles per retry up to {@link retryMaxDelay}, and the delay is drawn from [0, ceiling]. */
  readonly retryBaseDelay: Duration.Duration
  readonly retryMaxDelay: Duration.Duration
  /** When set, an operation (a listing, a download, ...) that has not finished by then fails. */
  readonly deadline: Duration.Duration | undefined
  /** When set, a body slower than this many bytes per second over a {@link timeout}-long window is cut and resumed. */
  readonly minRate: number | undefined
  /** One listing page larger than this is refused. */
  readonly maxListingPageBytes: number
  /** A listing with more entries than this (all pages and folders together) is refused. */
  readonly maxListingEntries: number
}

/**
 * Settings given in code; everything but `url` and `token` has a default.
 *
 * @since 0.1.0
 */
export interface Input {
  readonly url: string | URL
  readonly token: Redacted.Redacted<string>
  readonly data?: Readonly<Record<string, string>> | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly maxWorkers?: number | undefined
  readonly retries?: number | undefined
  readonly retryBaseDelay?: Duration.DurationInput | undefined
  readonly retryMaxDelay?: Duration.DurationInput | undefined
  readonly deadline?: Duration.DurationInput | undefined
  readonly minRate?: number | undefined
  readonly maxListingPageBytes?: number | undefined
  readonly maxListingEntries?: number | undefined
}

/**
 * The defaults, also documented in the README.
 *
 * @since 0.1.0
 */
export const defaults = {
  timeout: Duration.seconds(60),
  maxWorkers: 16,
  retries: 5,
  retryBaseDelay: Duration.millis(250),
  retryMaxDelay: Duration.seconds(30),
  deadline: undefined,
  minRate: undefined,
  // 10 million keys of ~60 bytes fit in ~20 pages of this size; a page is held whole only as bytes being decoded
  maxListingPageBytes: 64 * 1024 * 1024,
  maxListingEntries: 10_000_000
} as const

/**
 * The environment variables, by setting.
 *
 * @since 0.1.0
 */
export const variables = {
  url: "APH_API_DAL_URL",
  token: "APH_DAL_TOKEN",
  data: "APH_DATA",
  timeout: "APH_TIMEOUT",
  maxWorkers: "APH_MAX_WORKERS",
  retries: "APH_RETRIES",
  retryBaseDelay: "APH_RETRY_BASE_DELAY",
  retryMaxDelay: "APH_RETRY_MAX_DELAY",
  deadline: "APH_DEADLINE",
  minRate: "APH_MIN_RATE",
  maxListingPageBytes: "APH_MAX_LISTING_PAGE_BYTES",
  maxListingEntries: "APH_MAX_LISTING_ENTRIES"
} as const

/**
 * The settings service.
 *
 * @since 0.1.0
 */
export class DalSettings extends Context.Tag("@fedkit/dal-client/DalSettings")<DalSettings, Settings>() {}

const DataJson = Schema.parseJson(Schema.Record({ key: Schema.String.pipe(Schema.minLength(1)), value: DalKey }))
const DataObject = Schema.Record({ key: Schema.String.pipe(Schema.minLength(1)), value: DalKey })

const formatIssues = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((i) => (i.path.length === 0 ? i.message : `at ${JSON.stringify(i.path.map(String))}: ${i.message}`))
    .join(", ")
    .replaceAll("\n", " ")

type Check<A> = Either.Either<A, string>

const checkUrl = (raw: string): Check<string> => {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return Either.left(`is not a URL (${JSON.stringify(raw)})`)
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return Either.left("must be an http:// or https:// URL")
  if (url.search !== "" || url.hash !== "") return Either.left("must not have a query or fragment")
  if (url.username !== "" || url.password !== "") return Either.left("must not carry credentials")
  const text = url.toString()
  return Either.right(text.endsWith("/") ? text : `${text}/`)
}

const checkToken = (token: Redacted.Redacted<string>): Check<Redacted.Redacted<string>> =>
  Redacted.value(token).trim() === "" ? Either.left("is empty") : Either.right(token)

const checkInt = (min: number, max: number) => (n: number): Check<number> =>
  Number.isInteger(n) && n >= min && n <= max
    ? Either.right(n)
    : Either.left(`must be an integer from ${min} to ${max}`)

const checkDuration = (d: Duration.Duration): Check<Duration.Duration> =>
  Duration.greaterThan(d, Duration.zero) && Duration.isFinite(d) ? Either.right(d) : Either.left("must be positive")

const seconds = (raw: string): Check<Duration.Duration> => {
  const n = Number(raw.trim())
  return raw.trim() !== "" && Number.isFinite(n) && n > 0
    ? Either.right(Duration.millis(Math.round(n * 1000)))
    : Either.left(`must be a positive number of seconds (got ${JSON.stringify(raw)})`)
}

const integer = (raw: string): Check<number> =>
  /^\s*\d+\s*$/.test(raw) ? Either.right(Number(raw)) : Either.left(`must be an integer (got ${JSON.stringify(raw)})`)

/** Field-wise checks; problems are collected so one message lists everything that is wrong. */
const assemble = (
  name: (field: keyof Settings) => string,
  fields: { readonly [K in keyof Settings]: Check<Settings[K]> }
): Effect.Effect<Settings, DalConfigError> => {
  const problems: Array<ConfigProblem> = []
  for (const [field, check] of Object.entries(fields) as Array<[string, Check<unknown>]>) {
    if (Either.isLeft(check)) problems.push({ variable: name(field as keyof Settings), reason: check.left })
  }
  if (problems.length > 0) return Effect.fail(new DalConfigError({ problems }))
  const ok = <A>(c: Check<A>): A => (c as Either.Right<string, A>).right
  return Effect.succeed({
    url: ok(fields.url),
    token: ok(fields.token),
    data: ok(fields.data),
    timeout: ok(fields.timeout),
    maxWorkers: ok(fields.maxWorkers),
    retries: ok(fields.retries),
    retryBaseDelay: ok(fields.retryBaseDelay),
    retryMaxDelay: ok(fields.retryMaxDelay),
    deadline: ok(fields.deadline),
    minRate: ok(fields.minRate),
    maxListingPageBytes: ok(fields.maxListingPageBytes),
    maxListingEntries: ok(fields.maxListingEntries)
  })
}

const optional = <A>(raw: Option.Option<string>, parse: (s: string) => Check<A>, fallback: A): Check<A> =>
  Option.match(raw, { onNone: () => Either.right(fallback), onSome: parse })

const maxWorkersCheck = checkInt(1, 1024)
const minRateCheck = checkInt(1, 2 ** 40)
const pageBytesCheck = checkInt(1024, 2 ** 40)
const entriesCheck = checkInt(1, 2 ** 40)
const retriesCheck = checkInt(0, 100)

/**
 * Reads the `APH_*` variables through the current `ConfigProvider` (the environment by default): `APH_API_DAL_URL`,
 * `APH_DAL_TOKEN`, `APH_DATA` (JSON object id → key), and optionally `APH_TIMEOUT` (seconds), `APH_MAX_WORKERS`,
 * `APH_RETRIES`, `APH_RETRY_BASE_DELAY` and `APH_RETRY_MAX_DELAY` (seconds), `APH_DEADLINE` (seconds), `APH_MIN_RATE`
 * (bytes per second), `APH_MAX_LISTING_PAGE_BYTES` and `APH_MAX_LISTING_ENTRIES`.
 *
 * @since 0.1.0
 */
export const fromEnv: Effect.Effect<Settings, DalConfigError> = Effect.gen(function*() {
  const raw = yield* Config.all({
    url: Config.option(Config.string(variables.url)),
    token: Config.option(Config.redacted(variables.token)),
    data: Config.option(Config.string(variables.data)),
    timeout: Config.option(Config.string(variables.timeout)),
    maxWorkers: Config.option(Config.string(variables.maxWorkers)),
    retries: Config.option(Config.string(variables.retries)),
    retryBaseDelay: Config.option(Config.string(variables.retryBaseDelay)),
    retryMaxDelay: Config.option(Config.string(variables.retryMaxDelay)),
    deadline: Config.option(Config.string(variables.deadline)),
    minRate: Config.option(Config.string(variables.minRate)),
    maxListingPageBytes: Config.option(Config.string(variables.maxListingPageBytes)),
    maxListingEntries: Config.option(Config.string(variables.maxListingEntries))
  }).pipe(
    Effect.mapError((e) => new DalConfigError({ problems: [{ variable: "APH_*", reason: String(e) }] }))
  )
  return yield* assemble((field) => variables[field], {
    url: Option.match(raw.url, { onNone: () => Either.left("is not set"), onSome: checkUrl }),
    token: Option.match(raw.token, { onNone: () => Either.left("is not set"), onSome: checkToken }),
    data: optional(
      raw.data,
      (s) => Either.mapLeft(Schema.decodeUnknownEither(DataJson, { errors: "all" })(s), formatIssues),
      {}
    ),
    timeout: optional(raw.timeout, seconds, defaults.timeout),
    maxWorkers: optional(raw.maxWorkers, (s) => Either.flatMap(integer(s), maxWorkersCheck), defaults.maxWorkers),
    retries: optional(raw.retries, (s) => Either.flatMap(integer(s), retriesCheck), defaults.retries),
    retryBaseDelay: optional(raw.retryBaseDelay, seconds, defaults.retryBaseDelay),
    retryMaxDelay: optional(raw.retryMaxDelay, seconds, defaults.retryMaxDelay),
    deadline: optional<Duration.Duration | undefined>(raw.deadline, seconds, defaults.deadline),
    minRate: optional<number | undefined>(
      raw.minRate,
      (s) => Either.flatMap(integer(s), minRateCheck),
      defaults.minRate
    ),
    maxListingPageBytes: optional(
      raw.maxListingPageBytes,
      (s) => Either.flatMap(integer(s), pageBytesCheck),
      defaults.maxListingPageBytes
    ),
    maxListingEntries: optional(
      raw.maxListingEntries,
      (s) => Either.flatMap(integer(s), entriesCheck),
      defaults.maxListingEntries
    )
  })
})

/**
 * Validates settings given in code, with the same rules as {@link fromEnv}.
 *
 * @since 0.1.0
 */
export const make = (input: Input): Effect.Effect<Settings, DalConfigError> =>
  assemble((field) => field, {
    url: checkUrl(input.url.toString()),
    token: checkToken(input.token),
    data: Either.mapLeft(Schema.decodeUnknownEither(DataObject, { errors: "all" })(input.data ?? {}), formatIssues),
    timeout: checkDuration(Duration.decode(input.timeout ?? defaults.timeout)),
    maxWorkers: maxWorkersCheck(input.maxWorkers ?? defaults.maxWorkers),
    retries: retriesCheck(input.retries ?? defaults.retries),
    retryBaseDelay: checkDuration(Duration.decode(input.retryBaseDelay ?? defaults.retryBaseDelay)),
    retryMaxDelay: checkDuration(Duration.decode(input.retryMaxDelay ?? defaults.retryMaxDelay)),
    deadline: input.deadline === undefined ? Either.right(undefined) : checkDuration(Duration.decode(input.deadline)),
    minRate: input.minRate === undefined ? Either.right(undefined) : minRateCheck(input.minRate),
    maxListingPageBytes: pageBytesCheck(input.maxListingPageBytes ?? defaults.maxListingPageBytes),
    maxListingEntries: entriesCheck(input.maxListingEntries ?? defaults.maxListingEntries)
  })

/**
 * Settings from the environment (see {@link fromEnv}).
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<DalSettings, DalConfigError> = Layer.effect(DalSettings, fromEnv)

/**
 * Settings given in code (see {@link make}).
 *
 * @since 0.1.0
 */
export const layerFromValues = (input: Input): Layer.Layer<DalSettings, DalConfigError> =>
  Layer.effect(DalSettings, make(input))

/**
 * A settings value with every field overridden where given: how the CLI applies `--timeout` and friends.
 *
 * @since 0.1.0
 */
export const override = (
  settings: Settings,
  changes: Omit<Input, "url" | "token" | "data">
): Effect.Effect<Settings, DalConfigError> =>
  make({
    ...settings,
    ...Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined))
  })
