/**
 * The deterministic split of the fixture: a stratified held-out test set, and the remaining training rows dealt out
 * to the gateways as non-identical shards (different sizes and class mixes; every gateway has both classes).
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Random from "./internal/random.js"
import * as Samples from "./Samples.js"

/**
 * One gateway's share of the training rows of each class (fractions; each class's fractions sum to 1).
 *
 * @since 0.1.0
 */
export interface ShardShare {
  readonly gateway: string
  readonly malignant: number
  readonly benign: number
}

/**
 * @since 0.1.0
 */
export interface Options {
  readonly seed: number
  /** Of each class, so the test set keeps the class balance. */
  readonly testFraction: number
  readonly shares: ReadonlyArray<ShardShare>
}

/**
 * Three gateways with skewed class mixes: gateway-1 is large and mostly benign, gateway-2 is small and balanced-ish,
 * gateway-3 mostly malignant.
 *
 * @since 0.1.0
 */
export const defaults: Options = {
  seed: 20_251_126,
  testFraction: 0.2,
  shares: [
    { gateway: "gateway-1", malignant: 0.15, benign: 0.55 },
    { gateway: "gateway-2", malignant: 0.25, benign: 0.3 },
    { gateway: "gateway-3", malignant: 0.6, benign: 0.15 }
  ]
}

/**
 * @since 0.1.0
 */
export interface Shard {
  readonly gateway: string
  readonly samples: Samples.Samples
}

/**
 * @since 0.1.0
 */
export interface Split {
  readonly test: Samples.Samples
  /** The union of the shards, in shard order: what a central baseline trains on. */
  readonly train: Samples.Samples
  readonly shards: ReadonlyArray<Shard>
}

/**
 * @since 0.1.0
 */
export class SplitError extends Schema.TaggedError<SplitError>()("SplitError", { reason: Schema.String }) {
  override get message(): string {
    return `cannot split the data: ${this.reason}`
  }
}

/** Cuts `items` at the rounded cumulative fractions, so every item lands in exactly one part. */
const deal = <A>(items: ReadonlyArray<A>, fractions: ReadonlyArray<number>): Array<Array<A>> => {
  let cumulative = 0
  let start = 0
  return fractions.map((fraction, i) => {
    cumulative += fraction
    const end = i === fractions.length - 1 ? items.length : Math.round(cumulative * items.length)
    const part = items.slice(start, end)
    start = end
    return part
  })
}

/**
 * @since 0.1.0
 */
export const split = (all: Samples.Samples, options: Options = defaults): Either.Either<Split, SplitError> => {
  const fail = (reason: string) => Either.left(new SplitError({ reason }))
  if (!(options.testFraction > 0 && options.testFraction < 1)) return fail("testFraction must be in (0, 1)")
  if (options.shares.length === 0) return fail("there must be at least one gateway")
  for (const key of ["malignant", "benign"] as const) {
    const shares = options.shares.map((share) => share[key])
    if (shares.some((share) => !(share > 0))) return fail(`every gateway needs a positive ${key} share`)
    if (Math.abs(shares.reduce((a, b) => a + b, 0) - 1) > 1e-9) return fail(`the ${key} shares must sum to 1`)
  }
  const random = Random.make(options.seed)
  const test: Array<number> = []
  const perGateway: Array<Array<number>> = options.shares.map(() => [])
  Samples.indicesByClass(all).forEach((rows, label) => {
    Random.shuffle(random, rows)
    const testCount = Math.round(rows.length * options.testFraction)
    test.push(...rows.slice(0, testCount))
    const shares = options.shares.map((share) => label === 0 ? share.malignant : share.benign)
    deal(rows.slice(testCount), shares).forEach((part, gateway) => perGateway[gateway]!.push(...part))
  })
  const shards = options.shares.map((share, gateway) => ({
    gateway: share.gateway,
    samples: Samples.select(all, Random.shuffle(random, perGateway[gateway]!))
  }))
  const empty = shards.find((shard) => Samples.classCounts(shard.samples).some((n) => n === 0))
  if (empty !== undefined) return fail(`${empty.gateway} would not get both classes`)
  return Either.right({
    test: Samples.select(all, Random.shuffle(random, test)),
    train: Samples.concat(shards.map((shard) => shard.samples)),
    shards
  })
}
