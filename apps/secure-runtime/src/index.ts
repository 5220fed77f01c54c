/**
 * @fedkit/secure-runtime: not implemented yet. See the README of this package.
 */
export {}
