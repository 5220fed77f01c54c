/**
 * @fedkit/dal-client: a typed, streaming, resumable client for the Data Access Layer (DAL) of a federated-learning
 * Compute Gateway, and the `fedkit-dal` CLI.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AssetPolicy from "./AssetPolicy.js"
/** @since 0.1.0 */
export * as DalClient from "./DalClient.js"
/** @since 0.1.0 */
export * as DalError from "./DalError.js"
/** @since 0.1.0 */
export * as DalKey from "./DalKey.js"
/** @since 0.1.0 */
export * as DalSettings from "./DalSettings.js"
/** @since 0.1.0 */
export * as DalTransport from "./DalTransport.js"
/** @since 0.1.0 */
export * as Progress from "./Progress.js"
/** @since 0.1.0 */
export * as ZipExtract from "./ZipExtract.js"
