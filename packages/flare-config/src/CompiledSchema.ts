/**
 * Effect's Schema checks compiled once per schema into plain functions: the same verdict and the same output as
 * `Schema.decodeUnknownEither`, `Schema.validateEither`, `Schema.encodeUnknownEither`, `ParseResult.decodeUnknownEither`
 * and `Schema.is`, without Effect's parser on the way when the input is valid. Whatever the compiled walk does not
 * model exactly, and every invalid input, goes through Effect's own parser, which reports the issues, so the answer
 * (including every failure) is always the one Effect's parser gives. flare-config's builders and decoders check with
 * these; a Secure Runtime decodes its payloads with them. Build each function once and keep it: building compiles.
 *
 * @since 0.1.0
 */
import * as FastValidate from "./internal/fastValidate.js"

/**
 * `Schema.decodeUnknownEither(schema, options)`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeUnknownEither = FastValidate.decodeUnknownEither

/**
 * `ParseResult.decodeUnknownEither(schema, options)`: a failure is the parse issue, with no `ParseError` made (a
 * rejected input then costs no stack trace).
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeUnknownIssueEither = FastValidate.decodeUnknownIssueEither

/**
 * `Schema.encodeUnknownEither(schema, options)`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeUnknownEither = FastValidate.encodeUnknownEither

/**
 * `Schema.validateEither(schema, options)`.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateEither = FastValidate.validateEither

/**
 * `Schema.is(schema, options)`.
 *
 * @since 0.1.0
 * @category guards
 */
export const is = FastValidate.is
