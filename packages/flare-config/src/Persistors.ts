/**
 * Model persistence on the server: `NPModelPersistor` (load and save the global numpy model) and `NPModelLocator`
 * (hand saved models to `CrossSiteModelEval`). Argument names and types are those of nvflare 2.9.0
 * (`nvflare/app_common/np/`).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { defineComponent } from "./internal/entry.js"
import { FileName, opt, record, RelativePath } from "./internal/schemas.js"

/**
 * A numeric array as nested JSON lists (`[[1, 2], [3, 4]]`).
 *
 * @since 0.1.0
 */
export type NumericArray = ReadonlyArray<number | NumericArray>

const shapeOf = (value: number | NumericArray): ReadonlyArray<number> | undefined => {
  if (typeof value === "number") return []
  if (value.length === 0) return [0]
  const shapes = value.map(shapeOf)
  const [first] = shapes
  if (first === undefined) return undefined
  return shapes.every((shape) => shape !== undefined && shape.join(",") === first.join(","))
    ? [value.length, ...first]
    : undefined
}

/**
 * A rectangular numeric array: `numpy.array(model, dtype=float32)` rejects ragged lists.
 *
 * @since 0.1.0
 */
export const NumericArray: Schema.Schema<NumericArray> = Schema.Array(
  Schema.Union(Schema.Finite, Schema.suspend((): Schema.Schema<NumericArray> => NumericArray))
).pipe(
  Schema.filter((value) => shapeOf(value) !== undefined || "Expected a rectangular array (every row the same shape)"),
  Schema.annotations({
    identifier: "NumericArray",
    arbitrary: () => (fc) =>
      fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })).chain(([rows, columns]) =>
        fc.array(
          fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: columns, maxLength: columns }),
          { minLength: rows, maxLength: rows }
        )
      )
  })
)

const npModelPersistorComponent = defineComponent({
  name: "NPModelPersistor",
  path: "nvflare.app_common.np.np_model_persistor.NPModelPersistor",
  kind: "persistor",
  fields: {
    model_dir: opt(RelativePath),
    model_name: opt(FileName),
    model: opt(Schema.NullOr(NumericArray)),
    /**
     * A checkpoint inside the app's `custom/` folder. FLARE also accepts absolute paths and does not stop `..`; both are
     * refused here, since a job must not read arbitrary server files into the model it sends to every client.
     */
    source_ckpt_file_full_name: opt(Schema.NullOr(RelativePath))
  },
  defaultId: "persistor"
})

/**
 * `nvflare.app_common.np.np_model_persistor.NPModelPersistor`. Holds one array under the key `"numpy_key"`. It
 * loads `source_ckpt_file_full_name` if that exists, else `<run dir>/<model_dir>/<model_name>`, else `model`, else
 * `[[1, 2, 3], [4, 5, 6], [7, 8, 9]]`, and saves to `<run dir>/<model_dir>/<model_name>`.
 *
 * @since 0.1.0
 */
export const NPModelPersistorArgs = npModelPersistorComponent.args

/**
 * @since 0.1.0
 */
export type NPModelPersistorArgs = typeof NPModelPersistorArgs.Type

/**
 * The catalog entry for `NPModelPersistor`.
 *
 * @since 0.1.0
 */
export const NPModelPersistor = npModelPersistorComponent.entry

/**
 * An `NPModelPersistor`, id `"persistor"` unless given (the id `FedAvg` looks for by default).
 *
 * @since 0.1.0
 */
export const npModelPersistor = npModelPersistorComponent.build

const npModelLocatorComponent = defineComponent({
  name: "NPModelLocator",
  path: "nvflare.app_common.np.np_model_locator.NPModelLocator",
  kind: "model_locator",
  fields: {
    model_dir: opt(RelativePath),
    /** File names under `model_dir` (FLARE would also take absolute paths, i.e. any server file; refused here). */
    model_name: opt(Schema.Union(FileName, record(FileName)))
  },
  defaultId: "model_locator"
})

/**
 * `nvflare.app_common.np.np_model_locator.NPModelLocator`: finds the server model `NPModelPersistor` saved.
 *
 * @since 0.1.0
 */
export const NPModelLocatorArgs = npModelLocatorComponent.args

/**
 * @since 0.1.0
 */
export type NPModelLocatorArgs = typeof NPModelLocatorArgs.Type

/**
 * The catalog entry for `NPModelLocator`.
 *
 * @since 0.1.0
 */
export const NPModelLocator = npModelLocatorComponent.entry

/**
 * An `NPModelLocator`, id `"model_locator"` unless given.
 *
 * @since 0.1.0
 */
export const npModelLocator = npModelLocatorComponent.build
