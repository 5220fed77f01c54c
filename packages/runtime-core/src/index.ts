/**
 * @fedkit/runtime-core: the Secure Runtime contract for model authors. The conformance kit and the hostile corpus,
 * for tests, are in `@fedkit/runtime-core/testing`.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Dataset2Gw from "./Dataset2Gw.js"
/** @since 0.1.0 */
export * as Fields from "./Fields.js"
/** @since 0.1.0 */
export * as Issue from "./Issue.js"
/** @since 0.1.0 */
export * as JobFiles from "./JobFiles.js"
/** @since 0.1.0 */
export * as JsonBody from "./JsonBody.js"
/** @since 0.1.0 */
export * as ModuleLoader from "./ModuleLoader.js"
/** @since 0.1.0 */
export * as Rejection from "./Rejection.js"
/** @since 0.1.0 */
export * as Runtime from "./Runtime.js"
/** @since 0.1.0 */
export * as TemplateFolder from "./TemplateFolder.js"
/** @since 0.1.0 */
export { loadRuntimeModule } from "./ModuleLoader.js"
/** @since 0.1.0 */
export { defineRuntime } from "./Runtime.js"
