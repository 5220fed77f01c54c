/**
 * @fedkit/runtime-core: not implemented yet. See the README of this package.
 */
export {}
