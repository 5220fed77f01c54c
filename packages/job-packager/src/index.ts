/**
 * @fedkit/job-packager: reproducible NVIDIA FLARE job packages, and running them on FLARE (simulator, POC, server).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as FlareInstallation from "./FlareInstallation.js"
/** @since 0.1.0 */
export * as JobPackage from "./JobPackage.js"
/** @since 0.1.0 */
export * as JobPath from "./JobPath.js"
/** @since 0.1.0 */
export * as JobStore from "./JobStore.js"
/** @since 0.1.0 */
export * as JobZip from "./JobZip.js"
/** @since 0.1.0 */
export * as FlareRunner from "./FlareRunner.js"
/** @since 0.1.0 */
export * as Simulator from "./Simulator.js"
/** @since 0.1.0 */
export * as Poc from "./Poc.js"
/** @since 0.1.0 */
export * as Remote from "./Remote.js"
/** @since 0.1.0 */
export * as Deployment from "./Deployment.js"
/** @since 0.1.0 */
export * as NodePlatform from "./NodePlatform.js"
