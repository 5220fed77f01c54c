/**
 * @fedkit/gateway-trainer: not implemented yet. See the README of this package.
 */
export {}
