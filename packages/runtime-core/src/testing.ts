/**
 * @fedkit/runtime-core/testing: what tests of a runtime module use, kept out of the main entry point: the
 * conformance kit and the hostile payload corpus.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Conformance from "./Conformance.js"
/** @since 0.1.0 */
export * as HostileCorpus from "./HostileCorpus.js"
