// Test data shared by the packages' tests (imported by relative path, as compileSources.mjs is).

/**
 * Deterministic pseudo-random bytes (xorshift32): the same size and seed always give the same bytes, so sizes,
 * ranges and contents of a "binary" file can be compared.
 */
export const bytes = (size, seed = 1) => {
  const out = new Uint8Array(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}
