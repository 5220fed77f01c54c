import { addEqualityTesters } from "@effect/vitest"

// Lets assert.deepStrictEqual / expect().toEqual compare Effect data types (Option, Either, Data.Class) structurally.
addEqualityTesters()
