/**
 * @fedkit/runtime-core: the Secure Runtime contract for model authors.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Conformance from "./Conformance.js"
/** @since 0.1.0 */
export * as Dataset2Gw from "./Dataset2Gw.js"
/** @since 0.1.0 */
export * as Fields from "./Fields.js"
/** @since 0.1.0 */
export * as HostileCorpus from "./HostileCorpus.js"
/** @since 0.1.0 */
export * as Issue from "./Issue.js"
/** @since 0.1.0 */
export * as JobFiles from "./JobFiles.js"
/** @since 0.1.0 */
export * as JsonBody from "./JsonBody.js"
/** @since 0.1.0 */
export * as Rejection from "./Rejection.js"
/** @since 0.1.0 */
export * as Runtime from "./Runtime.js"
/** @since 0.1.0 */
export * as TemplateFolder from "./TemplateFolder.js"
/** @since 0.1.0 */
export { defineRuntime, loadRuntimeModule } from "./Runtime.js"
