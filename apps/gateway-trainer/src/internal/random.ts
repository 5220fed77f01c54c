/**
 * A small seeded PRNG (mulberry32): the split, the shards and minibatch order must be the same on every machine and
 * every run, which `Math.random` cannot give.
 *
 * @since 0.1.0
 */
/**
 * @since 0.1.0
 */
export interface Random {
  /** Uniform in [0, 1). */
  readonly next: () => number
  /** Uniform integer in [0, bound). */
  readonly int: (bound: number) => number
}

/**
 * @since 0.1.0
 */
export const make = (seed: number): Random => {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { next, int: (bound) => Math.floor(next() * bound) }
}

/**
 * Fisher–Yates, in place.
 *
 * @since 0.1.0
 */
export const shuffle = <A>(random: Random, items: Array<A>): Array<A> => {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1)
    const item = items[i]!
    items[i] = items[j]!
    items[j] = item
  }
  return items
}

/**
 * Derives an independent seed from a base seed and a few integers (e.g. round and site).
 *
 * @since 0.1.0
 */
export const derive = (seed: number, ...parts: ReadonlyArray<number>): number => {
  let h = seed >>> 0
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x9e3779b1) >>> 0
    h ^= h >>> 16
  }
  return h
}
