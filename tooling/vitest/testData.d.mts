/** Deterministic pseudo-random bytes: the same size and seed (default 1) always give the same bytes. */
export declare const bytes: (size: number, seed?: number) => Uint8Array;
