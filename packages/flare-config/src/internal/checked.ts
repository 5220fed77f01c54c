import * as Schema from "effect/Schema"

// Check once: a value a schema checked is deep-frozen and remembered for that schema, so code that receives it
// again (a job assembled from checked configs, a config written to a file) can trust it instead of walking it
// through the schema a second time. Freezing is what makes the trust sound: a checked value cannot be changed
// afterwards, so it stays what was checked. Only values this package's decoders and validators produced are ever
// marked, and they are fresh objects (Effect's parser copies what it checks), so freezing never reaches a caller's
// own object.

const checkedBy = new WeakMap<object, WeakSet<object>>()

const freeze = (value: unknown): void => {
  // Values below an already frozen object were frozen with it: this module freezes whole values only.
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return
  Object.freeze(value)
  for (const key of Object.keys(value)) freeze((value as Record<string, unknown>)[key])
}

/** Freezes `value` deeply and remembers that `schema` checked it. */
export const markChecked = <A>(schema: object, value: A): A => {
  if (typeof value !== "object" || value === null) return value
  freeze(value)
  let checked = checkedBy.get(schema)
  if (checked === undefined) {
    checked = new WeakSet()
    checkedBy.set(schema, checked)
  }
  checked.add(value)
  return value
}

/** Whether `schema` checked `value` (and so, frozen, it still holds). */
export const isChecked = (schema: object, value: unknown): boolean =>
  typeof value === "object" && value !== null && checkedBy.get(schema)?.has(value) === true

/** A schema for values `schema` already checked: anything else fails it (and is then checked the long way). */
export const checkedWith = <A, I>(schema: Schema.Schema<A, I>) =>
  Schema.declare((u: unknown): u is A => isChecked(schema, u))
