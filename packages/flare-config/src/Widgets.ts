/**
 * Server widgets that run alongside workflows. `ValidationJsonGenerator` writes `CrossSiteModelEval`'s results as
 * one JSON file.
 *
 * @since 0.1.0
 */
import { defineComponent } from "./internal/entry.js"
import { FileName, opt, RelativePath } from "./internal/schemas.js"

const validationJsonGeneratorComponent = defineComponent({
  name: "ValidationJsonGenerator",
  path: "nvflare.app_common.widgets.validation_json_generator.ValidationJsonGenerator",
  kind: "widget",
  fields: {
    results_dir: opt(RelativePath),
    json_file_name: opt(FileName)
  },
  defaultId: "json_generator"
})

/**
 * `nvflare.app_common.widgets.validation_json_generator.ValidationJsonGenerator`.
 *
 * @since 0.1.0
 */
export const ValidationJsonGeneratorArgs = validationJsonGeneratorComponent.args

/**
 * @since 0.1.0
 */
export type ValidationJsonGeneratorArgs = typeof ValidationJsonGeneratorArgs.Type

/**
 * The catalog entry for `ValidationJsonGenerator`.
 *
 * @since 0.1.0
 */
export const ValidationJsonGenerator = validationJsonGeneratorComponent.entry

/**
 * A `ValidationJsonGenerator`, id `"json_generator"` unless given.
 *
 * @since 0.1.0
 */
export const validationJsonGenerator = validationJsonGeneratorComponent.build
