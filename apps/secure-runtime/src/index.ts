/**
 * @fedkit/secure-runtime: the Secure Runtime container entrypoint.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Cli from "./Cli.js"
/** @since 0.1.0 */
export * as Cluster from "./Cluster.js"
/** @since 0.1.0 */
export * as Inputs from "./Inputs.js"
/** @since 0.1.0 */
export * as Jobs from "./Jobs.js"
/** @since 0.1.0 */
export * as JobFolder from "./JobFolder.js"
/** @since 0.1.0 */
export * as JsonLog from "./JsonLog.js"
/** @since 0.1.0 */
export * as PythonShim from "./PythonShim.js"
/** @since 0.1.0 */
export * as Refusal from "./Refusal.js"
/** @since 0.1.0 */
export * as Render from "./Render.js"
/** @since 0.1.0 */
export * as RuntimeModule from "./RuntimeModule.js"
/** @since 0.1.0 */
export * as Server from "./Server.js"
