/**
 * Server widgets that run alongside workflows. `ValidationJsonGenerator` writes `CrossSiteModelEval`'s results as
 * one JSON file.
 *
 * @since 0.1.0
 */
import { type Either, Schema } from "effect"
import type { IdentifiedComponent, InvalidComponent } from "./Component.js"
import { buildIdentified, entry, exact } from "./internal/entry.js"
import { FileName, opt, RelativePath } from "./internal/schemas.js"

/**
 * `nvflare.app_common.widgets.validation_json_generator.ValidationJsonGenerator`.
 *
 * @since 0.1.0
 */
export const ValidationJsonGeneratorArgs = Schema.Struct({
  results_dir: opt(RelativePath),
  json_file_name: opt(FileName)
}).annotations({ identifier: "ValidationJsonGeneratorArgs", ...exact })

/**
 * @since 0.1.0
 */
export type ValidationJsonGeneratorArgs = typeof ValidationJsonGeneratorArgs.Type

/**
 * The catalog entry for `ValidationJsonGenerator`.
 *
 * @since 0.1.0
 */
export const ValidationJsonGenerator = entry({
  name: "ValidationJsonGenerator",
  path: "nvflare.app_common.widgets.validation_json_generator.ValidationJsonGenerator",
  kind: "widget",
  args: ValidationJsonGeneratorArgs,
  defaultId: "json_generator"
})

/**
 * A `ValidationJsonGenerator`, id `"json_generator"` unless given.
 *
 * @since 0.1.0
 */
export const validationJsonGenerator = (
  args: ValidationJsonGeneratorArgs = {},
  options?: { readonly id?: string }
): Either.Either<IdentifiedComponent, InvalidComponent> => buildIdentified(ValidationJsonGenerator, args, options)
