/**
 * The rules every path inside a job obeys, checked before anything touches the disk: for a template's file map, a
 * custom code folder, a job folder read back and every entry of a ZIP (against zip-slip).
 *
 * A path is relative to the job folder, `/`-separated and normalized (no empty, `.` or `..` segments), in Unicode
 * NFC, free of backslashes, control characters (NUL included) and the characters Windows forbids in names
 * (`: * ? " < > |`), and it has a place in FLARE's job layout:
 *
 * - `meta.json` at the root;
 * - `<app>/config/<name>.json`, where `<app>` and `<name>` are FLARE job names (`^[A-Za-z0-9][A-Za-z0-9._-]*$`);
 * - `<app>/custom/<path>` for code, at any depth (FLARE's signature files `.__nvfl*` excluded).
 *
 * A set of paths must also be free of collisions: no two equal when compared case-insensitively (they would
 * overwrite each other on macOS and Windows), and no path that is both a file and a folder.
 *
 * @since 0.1.0
 */
import type * as Either from "effect/Either"
import * as internal from "./internal/jobPath.js"

/**
 * FLARE's name rule for jobs and apps (`JOB_NAME_PATTERN` in `nvflare/fuel/utils/validation_utils.py`).
 *
 * @since 0.1.0
 * @category constants
 */
export const JOB_NAME_PATTERN: RegExp = internal.JOB_NAME_PATTERN

/**
 * @since 0.1.0
 * @category constants
 */
export const MAX_PATH_BYTES = internal.MAX_PATH_BYTES

/**
 * @since 0.1.0
 * @category constants
 */
export const MAX_SEGMENT_BYTES = internal.MAX_SEGMENT_BYTES

/**
 * Where a file sits in FLARE's layout.
 *
 * @since 0.1.0
 * @category models
 */
export type Placement =
  | { readonly _tag: "Meta" }
  | { readonly _tag: "Config"; readonly app: string; readonly file: string }
  | { readonly _tag: "Custom"; readonly app: string; readonly file: string }

/**
 * Checks one path and says where it belongs, or why it is refused.
 *
 * @since 0.1.0
 * @category checks
 */
export const check: (path: string) => Either.Either<Placement, string> = internal.check

/**
 * Checks a folder path (a ZIP's directory entry, without its trailing `/`): a folder some job file could sit in.
 *
 * @since 0.1.0
 * @category checks
 */
export const checkFolder: (path: string) => Either.Either<void, string> = internal.checkFolder

/**
 * Checks a whole set of paths for collisions; returns `[path, reason]` for every offender.
 *
 * @since 0.1.0
 * @category checks
 */
export const collisions: (paths: Iterable<string>) => Array<readonly [string, string]> = internal.collisions

/**
 * The one order paths are kept in: by UTF-8 bytes, the order a ZIP and a manifest list them.
 *
 * @since 0.1.0
 * @category order
 */
export const compare: (a: string, b: string) => number = internal.compare

/**
 * A path as it can be shown in a message: JSON-quoted, so control characters and odd spacing stay visible and
 * harmless.
 *
 * @since 0.1.0
 * @category formatting
 */
export const show: (path: string) => string = internal.show
