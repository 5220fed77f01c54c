/**
 * @fedkit/dal-server: a local Data Access Layer (DAL) over a folder, for development, tests and demos.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as DalServer from "./DalServer.js"
/** @since 0.1.0 */
export * as DalServerError from "./DalServerError.js"
/** @since 0.1.0 */
export * as FaultFile from "./FaultFile.js"
/** @since 0.1.0 */
export * as PolicyFile from "./PolicyFile.js"
/** @since 0.1.0 */
export * as TokenFile from "./TokenFile.js"
