/**
 * @fedkit/flare-config: typed, checked, deterministic NVIDIA FLARE job configuration.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Aggregators from "./Aggregators.js"
/** @since 0.1.0 */
export * as CanonicalJson from "./CanonicalJson.js"
/** @since 0.1.0 */
export * as Catalog from "./Catalog.js"
/** @since 0.1.0 */
export * as ClientConfig from "./ClientConfig.js"
/** @since 0.1.0 */
export * as CompiledSchema from "./CompiledSchema.js"
/** @since 0.1.0 */
export * as Component from "./Component.js"
/** @since 0.1.0 */
export * as Edit from "./Edit.js"
/** @since 0.1.0 */
export * as Executors from "./Executors.js"
/** @since 0.1.0 */
export * as Filters from "./Filters.js"
/** @since 0.1.0 */
export * as FlareTarget from "./FlareTarget.js"
/** @since 0.1.0 */
export * as Issue from "./Issue.js"
/** @since 0.1.0 */
export * as Job from "./Job.js"
/** @since 0.1.0 */
export * as JobCheck from "./JobCheck.js"
/** @since 0.1.0 */
export * as JobMeta from "./JobMeta.js"
/** @since 0.1.0 */
export * as Persistors from "./Persistors.js"
/** @since 0.1.0 */
export * as ServerConfig from "./ServerConfig.js"
/** @since 0.1.0 */
export * as Widgets from "./Widgets.js"
/** @since 0.1.0 */
export * as Workflows from "./Workflows.js"
