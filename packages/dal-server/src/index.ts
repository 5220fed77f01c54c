/**
 * @fedkit/dal-server: not implemented yet. See the README of this package.
 */
export {}
