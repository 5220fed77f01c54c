/**
 * @fedkit/flare-config: not implemented yet. See the README of this package.
 */
export {}
