/**
 * @fedkit/job-packager: not implemented yet. See the README of this package.
 */
export {}
