/**
 * Payload field schemas for text that ends up in FLARE configs.
 *
 * A string placed in a config as a whole JSON string cannot change the config's structure, but FLARE still reads
 * it: before building components it substitutes `{SITE_NAME}`, `{WORKSPACE}`, `{$ENV_VAR}`, `{other_key}` and (2.9)
 * `${secret:…}` in every string, and leaves a string unchanged only when substitution fails. So user text that
 * reaches a config must not contain `{`, `}` or `$`. These schemas refuse them, along with characters that hide or
 * reorder text (controls, bidi overrides, zero-width and other invisible characters, unpaired surrogates).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u
const FLARE_SYNTAX = /[{}$]/

/**
 * Free text, such as a run description: 1 to `maxLength` characters (code points; default 256), no FLARE variable
 * syntax, no invisible or control characters, no surrounding whitespace.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Text = (options: { readonly maxLength?: number } = {}) => {
  const maxLength = options.maxLength ?? 256
  return Schema.String.pipe(
    Schema.filter((text) => {
      const length = [...text].length
      if (length === 0) return "Expected text, got an empty string"
      if (length > maxLength) return `Expected at most ${maxLength} characters, got ${length}`
      if (INVISIBLE.test(text)) return "Expected text without control or invisible formatting characters"
      if (FLARE_SYNTAX.test(text)) {
        return "Expected text without \"{\", \"}\" or \"$\" (FLARE would read them as variables)"
      }
      if (text.trim() !== text) return "Expected text without leading or trailing whitespace"
      return undefined
    }),
    Schema.annotations({
      description: `text of at most ${maxLength} characters`,
      arbitrary: () => (fc) =>
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 .,:;_()'"!?#%&*+=<>@^|~-]*[A-Za-z0-9]$|^[A-Za-z0-9]$/)
          .filter((text) => text.length <= maxLength)
    })
  )
}

/**
 * A name: an ASCII letter or digit, then letters, digits, `.`, `_` or `-`, at most `maxLength` characters (default
 * 64). This is FLARE's job and app name pattern (`JOB_NAME_PATTERN` in `nvflare/fuel/utils/validation_utils.py`);
 * ASCII only, so a look-alike letter from another script cannot pass for a known name. Safe in file names and in
 * command-line arguments.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Name = (options: { readonly maxLength?: number } = {}) => {
  const maxLength = options.maxLength ?? 64
  return Schema.String.pipe(
    Schema.filter((name) =>
      name.length === 0
        ? "Expected a name, got an empty string"
        : name.length > maxLength
        ? `Expected a name of at most ${maxLength} characters, got ${name.length}`
        : /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)
        ? undefined
        : "Expected a name of ASCII letters, digits, \".\", \"_\" and \"-\", starting with a letter or digit"
    ),
    Schema.annotations({
      description: `a name of at most ${maxLength} characters`,
      arbitrary: () => (fc) =>
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]*$/).filter((name) => name.length <= maxLength)
    })
  )
}
