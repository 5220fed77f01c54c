/**
 * @fedkit/flare-toolchain: the project's pinned NVIDIA FLARE environment, as `@fedkit/job-packager`'s
 * `FlareInstallation`, and the smoke job that proves it.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as FlareToolchain from "./FlareToolchain.js"
/** @since 0.1.0 */
export * as SmokeJob from "./SmokeJob.js"
