// FLARE 2.8 runs the trainer through `shlex.split(script)`: the argv this package joins into that script must come
// back from Python's shlex exactly, whatever the arguments hold.
import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as shlex from "../../src/internal/shlex.js"
import { FlareLive, runPython } from "../support/python.js"

const SPLIT = `
import json, shlex, sys
print(json.dumps([shlex.split(script) for script in json.load(sys.stdin)]))
`

const awkward = fc.constantFrom(
  "",
  " ",
  "'",
  "\"",
  "\\",
  "$HOME",
  "a b",
  "it's",
  "{SITE_NAME}",
  "\t",
  "\n",
  "--x=1;rm -rf /",
  "é",
  "#",
  "~"
)
const argument = fc.oneof(
  fc.string(),
  fc.fullUnicodeString(),
  awkward,
  fc.array(awkward).map((parts) => parts.join(""))
)

layer(FlareLive, { excludeTestServices: true })("argv joined for FLARE 2.8's SubprocessLauncher", (it) => {
  it.effect("splits back to the same argv in Python's shlex", () =>
    Effect.gen(function*() {
      const argvs = fc.sample(fc.array(argument.filter((arg) => !arg.includes("\0")), { minLength: 1, maxLength: 6 }), {
        numRuns: 500,
        seed: 2028
      })
      const split = yield* runPython<ReadonlyArray<ReadonlyArray<string>>>(SPLIT, argvs.map(shlex.join))
      assert.deepStrictEqual(split, argvs)
    }), { timeout: 60_000 })
})
