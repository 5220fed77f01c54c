/**
 * @fedkit/dal-client: not implemented yet. See the README of this package.
 */
export {}
