/**
 * `dataset2gw`, the map the platform hands to `template`: dataset id → the Compute Gateway (FLARE site) that holds
 * it. Decoded before a template sees it, with gateway ids held to FLARE's site-name rules, and helpers for what a
 * template needs from it: the distinct gateways, `min_clients`, and deploy maps.
 *
 * @since 0.1.0
 */
import * as Arr from "effect/Array"
import type * as Brand from "effect/Brand"
import * as Either from "effect/Either"
import * as Order from "effect/Order"
import * as Schema from "effect/Schema"
import * as Issue from "./Issue.js"

/**
 * The pattern FLARE checks client and site names with (`name_check(name, "client")` in
 * `nvflare/apis/utils/format_check.py`; Python's `re.match` there also lets a trailing newline through, this does
 * not).
 *
 * @since 0.1.0
 * @category constants
 */
export const SITE_NAME_PATTERN = /^[A-Za-z0-9_-]+$/

/**
 * FLARE provisioning puts a site's name in its certificate's common name, which is at most 64 characters
 * (`MAX_CN_LENGTH` in `nvflare/lighter/impl/cert.py`).
 *
 * @since 0.1.0
 * @category constants
 */
export const SITE_NAME_MAX_LENGTH = 64

/**
 * Names a gateway may not take: `server` is the server's site name in deploy maps (`SiteType.SERVER`), so a client
 * called that would receive the server app.
 *
 * @since 0.1.0
 * @category constants
 */
export const RESERVED_SITE_NAMES: ReadonlyArray<string> = ["server"]

/**
 * A Compute Gateway id, which is its FLARE site name.
 *
 * @since 0.1.0
 * @category schemas
 */
export const GatewayId = Schema.String.pipe(
  Schema.filter((name) =>
    name.length === 0
      ? "Expected a gateway id, got an empty string"
      : name.length > SITE_NAME_MAX_LENGTH
      ? `Expected a gateway id of at most ${SITE_NAME_MAX_LENGTH} characters, got ${name.length}`
      : !SITE_NAME_PATTERN.test(name)
      ? "Expected a gateway id made of letters, digits, \"_\" and \"-\" (a FLARE site name)"
      : RESERVED_SITE_NAMES.includes(name)
      ? `"${name}" is reserved in FLARE and cannot be a gateway id`
      : undefined
  ),
  Schema.brand("GatewayId"),
  Schema.annotations({
    identifier: "GatewayId",
    description: "a FLARE site name",
    arbitrary: () => (fc) =>
      fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/).filter((name) => !RESERVED_SITE_NAMES.includes(name))
        .map((name) => name as string & Brand.Brand<"GatewayId">)
  })
)

/**
 * @since 0.1.0
 * @category models
 */
export type GatewayId = typeof GatewayId.Type

const datasetIdProblem = (id: string): string | undefined =>
  id.length === 0
    ? "Expected a dataset id, got an empty string"
    : id.length > 256
    ? `Expected a dataset id of at most 256 characters, got ${id.length}`
    : /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u.test(id)
    ? "Expected a dataset id without control or invisible formatting characters"
    : undefined

/**
 * A dataset id as the platform writes them (`whas1_gateway-1_org-1`): non-empty text without control or invisible
 * formatting characters, at most 256 characters.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DatasetId = Schema.String.pipe(
  Schema.filter(datasetIdProblem),
  Schema.annotations({ identifier: "DatasetId", description: "a dataset id" })
)

/**
 * The map itself; it must name at least one dataset. Dataset ids are checked here rather than by the record's key
 * schema, which would drop a bad key silently (or, when exact, report it without saying why).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Dataset2Gw = Schema.Record({ key: Schema.String, value: GatewayId }).pipe(
  Schema.filter((map) => {
    const ids = Object.keys(map)
    if (ids.length === 0) return "Expected at least one dataset, got an empty map"
    return ids.flatMap((id) => {
      const problem = datasetIdProblem(id)
      return problem === undefined ? [] : [{ path: [id], message: problem }]
    })
  }),
  Schema.annotations({
    identifier: "Dataset2Gw",
    description: "a map from dataset id to gateway id",
    arbitrary: () => (fc) =>
      fc.dictionary(
        fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,30}$/),
        fc.constantFrom("gateway-1", "gateway-2", "site_3", "GW4").map((id) => id as string & Brand.Brand<"GatewayId">),
        { minKeys: 1, maxKeys: 6 }
      )
  })
)

/**
 * @since 0.1.0
 * @category models
 */
export type Dataset2Gw = typeof Dataset2Gw.Type

/**
 * The platform passed a `dataset2gw` that is missing or not a valid map.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidDataset2Gw extends Schema.TaggedError<InvalidDataset2Gw>()("InvalidDataset2Gw", {
  issues: Schema.Array(Issue.Issue)
}) {
  override get message(): string {
    const first = this.issues[0]
    const where = first === undefined ? "" : `: ${first.path === "(root)" ? "" : `${first.path}: `}${first.message}`
    return `Invalid dataset2gw${where}${this.issues.length > 1 ? ` (and ${this.issues.length - 1} more)` : ""}.`
  }
}

const prefix = (issue: Issue.Issue): Issue.Issue => ({
  path: issue.path === "(root)"
    ? "dataset2gw"
    : issue.path.startsWith("[")
    ? `dataset2gw${issue.path}`
    : `dataset2gw.${issue.path}`,
  message: issue.message
})

const decodeMap = Schema.decodeUnknownEither(Dataset2Gw, { errors: "all" })

/**
 * Maps {@link decode} made. Decoding builds a fresh object, which is frozen before it is handed out, so it stays
 * what was checked: a server decodes its map once at start and every render passes it back, checked by identity
 * instead of walking it through the Schema again.
 */
const decoded = new WeakSet<object>()

/**
 * Decodes a `dataset2gw` from the platform. Issue paths start at `dataset2gw`. The map returned is frozen.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (input: unknown): Either.Either<Dataset2Gw, InvalidDataset2Gw> => {
  if (input === undefined || input === null) {
    return Either.left(new InvalidDataset2Gw({ issues: [{ path: "dataset2gw", message: "is missing" }] }))
  }
  if (typeof input === "object" && decoded.has(input)) return Either.right(input as Dataset2Gw)
  return Either.mapBoth(decodeMap(input), {
    onLeft: (error) => new InvalidDataset2Gw({ issues: Issue.fromParseError(error).map(prefix) }),
    onRight: (map) => {
      decoded.add(Object.freeze(map))
      return map
    }
  })
}

const byCodeUnits: Order.Order<string> = Order.string

/**
 * The distinct gateways, sorted: the sites a job runs on.
 *
 * @since 0.1.0
 */
export const gateways = (map: Dataset2Gw): ReadonlyArray<GatewayId> =>
  Arr.sort(Arr.dedupe(Object.values(map)), byCodeUnits)

/**
 * The number of distinct gateways: FLARE's `min_clients` for a job that needs every gateway. Several datasets on
 * one gateway count once (the official quickstart counts them twice, which makes such a job wait forever).
 *
 * @since 0.1.0
 */
export const minClients = (map: Dataset2Gw): number => gateways(map).length

/**
 * The datasets each gateway holds, both levels sorted.
 *
 * @since 0.1.0
 */
export const datasetsByGateway = (map: Dataset2Gw): ReadonlyArray<readonly [GatewayId, ReadonlyArray<string>]> =>
  gateways(map).map((gateway) => {
    const datasets = Object.keys(map).filter((dataset) => map[dataset] === gateway)
    return [gateway, Arr.sort(datasets, byCodeUnits)] as const
  })

/**
 * One app for the server and the same app for every gateway of the map, named explicitly (so gateways outside the
 * map do not get it, as they would with `@ALL`): `{ [app]: ["server", "gw-1", "gw-2"] }`.
 *
 * @since 0.1.0
 */
export const deployMapShared = (map: Dataset2Gw, app = "app"): Readonly<Record<string, ReadonlyArray<string>>> => ({
  [app]: ["server", ...gateways(map)]
})

/**
 * One app per gateway (`app_<gateway>`) plus a server app (`app_server`), for jobs that give each gateway its own
 * config (FLARE allows each site in one app only).
 *
 * @since 0.1.0
 */
export const deployMapPerGateway = (
  map: Dataset2Gw,
  options: { readonly serverApp?: string; readonly appFor?: (gateway: GatewayId) => string } = {}
): Readonly<Record<string, ReadonlyArray<string>>> => {
  const appFor = options.appFor ?? ((gateway: GatewayId) => `app_${gateway}`)
  return Object.fromEntries([
    [options.serverApp ?? "app_server", ["server"]],
    ...gateways(map).map((gateway) => [appFor(gateway), [gateway]] as const)
  ])
}
