/**
 * Labelled samples of the Breast Cancer Wisconsin (Diagnostic) data as the model sees them: a row-major matrix of the
 * 30 features and a 0/1 label per row (0 = malignant, 1 = benign, the coding of the source file).
 *
 * @since 0.1.0
 */

/**
 * The 30 features, in column order (the names scikit-learn gives them).
 *
 * @since 0.1.0
 */
export const FEATURE_NAMES: ReadonlyArray<string> = [
  "mean radius",
  "mean texture",
  "mean perimeter",
  "mean area",
  "mean smoothness",
  "mean compactness",
  "mean concavity",
  "mean concave points",
  "mean symmetry",
  "mean fractal dimension",
  "radius error",
  "texture error",
  "perimeter error",
  "area error",
  "smoothness error",
  "compactness error",
  "concavity error",
  "concave points error",
  "symmetry error",
  "fractal dimension error",
  "worst radius",
  "worst texture",
  "worst perimeter",
  "worst area",
  "worst smoothness",
  "worst compactness",
  "worst concavity",
  "worst concave points",
  "worst symmetry",
  "worst fractal dimension"
]

/**
 * @since 0.1.0
 */
export const FEATURE_COUNT = 30

/**
 * @since 0.1.0
 */
export interface Samples {
  readonly count: number
  /** `count × FEATURE_COUNT`, row-major. */
  readonly features: Float64Array
  /** 0 or 1 per row. */
  readonly labels: Uint8Array
}

/**
 * The rows at `indices`, in that order.
 *
 * @since 0.1.0
 */
export const select = (samples: Samples, indices: ReadonlyArray<number>): Samples => {
  const features = new Float64Array(indices.length * FEATURE_COUNT)
  const labels = new Uint8Array(indices.length)
  indices.forEach((row, i) => {
    features.set(samples.features.subarray(row * FEATURE_COUNT, (row + 1) * FEATURE_COUNT), i * FEATURE_COUNT)
    labels[i] = samples.labels[row]!
  })
  return { count: indices.length, features, labels }
}

/**
 * @since 0.1.0
 */
export const concat = (parts: ReadonlyArray<Samples>): Samples => {
  const count = parts.reduce((sum, part) => sum + part.count, 0)
  const features = new Float64Array(count * FEATURE_COUNT)
  const labels = new Uint8Array(count)
  let offset = 0
  for (const part of parts) {
    features.set(part.features, offset * FEATURE_COUNT)
    labels.set(part.labels, offset)
    offset += part.count
  }
  return { count, features, labels }
}

/**
 * `[malignant, benign]` row counts.
 *
 * @since 0.1.0
 */
export const classCounts = (samples: Samples): readonly [number, number] => {
  let benign = 0
  for (const label of samples.labels) benign += label
  return [samples.count - benign, benign]
}

/**
 * Row indices per class: `[malignant rows, benign rows]`, in row order.
 *
 * @since 0.1.0
 */
export const indicesByClass = (samples: Samples): readonly [Array<number>, Array<number>] => {
  const byClass: [Array<number>, Array<number>] = [[], []]
  samples.labels.forEach((label, row) => byClass[label === 1 ? 1 : 0].push(row))
  return byClass
}
