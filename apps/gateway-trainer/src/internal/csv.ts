// Strict decimal numbers only: `Number()` would also take "", " ", "0x1f" and "Infinity".
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

/**
 * Lines without their terminators; a final empty line (trailing newline) is dropped.
 *
 * @since 0.1.0
 */
export const lines = (text: string): Array<string> => {
  const all = text.split(/\r?\n/)
  if (all.length > 0 && all[all.length - 1] === "") all.pop()
  return all
}

/**
 * The cells of a line as finite numbers, or the 0-based index of the first cell that is not one.
 *
 * @since 0.1.0
 */
export const numbers = (
  cells: ReadonlyArray<string>
): { readonly values: Array<number> } | { readonly bad: number } => {
  const values: Array<number> = []
  for (let i = 0; i < cells.length; i++) {
    const cell = cells[i]!.trim()
    const value = Number(cell)
    if (!DECIMAL.test(cell) || !Number.isFinite(value)) return { bad: i }
    values.push(value)
  }
  return { values }
}
