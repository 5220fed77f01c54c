/**
 * fedkit's command-line policy, shared by every fedkit CLI and bundled into each bin (this package is private).
 */
export * as CliMain from "./CliMain.js"
export * as UsageError from "./UsageError.js"
