/**
 * A job as a reproducible ZIP, and back.
 *
 * The ZIP holds one top folder named after the job (FLARE's validator looks for `<job>/meta.json`), with a directory
 * entry for every folder (FLARE detects BYOC jobs with `getinfo("<job>/<app>/custom/")`, so `custom/` and `config/`
 * need one). Entries are sorted by UTF-8 bytes, stored uncompressed, dated 1980-01-01 00:00 with modes 0644/0755:
 * the same package gives the same bytes on any machine, whatever the files' timestamps, modes or the zlib build.
 *
 * Reading accepts ZIPs from other tools (deflate, no directory entries) and applies {@link JobPath}'s rules to
 * every entry before anything is extracted, so a hostile archive cannot write outside the job (zip-slip).
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as internal from "./internal/jobZip.js"
import type * as JobPackage from "./JobPackage.js"

/**
 * The bytes are not a ZIP this package reads, or it does not hold exactly one job folder.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidArchive extends Schema.TaggedError<InvalidArchive>()("InvalidArchive", {
  source: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.source} is not a readable job archive: ${this.reason}`
  }
}

/**
 * The package as ZIP bytes. Deterministic: equal packages give byte-identical archives.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode: (pkg: JobPackage.JobPackage) => Uint8Array = internal.encode

/**
 * Reads a job archive back into a checked package. `source` names the archive in errors.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode: (
  bytes: Uint8Array,
  options?: JobPackage.Options & { readonly source?: string }
) => Effect.Effect<JobPackage.JobPackage, InvalidArchive | JobPackage.InvalidJob> = internal.decode
