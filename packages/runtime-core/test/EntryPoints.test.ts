import { assert, describe, it } from "@effect/vitest"
import * as main from "../src/index.js"
import * as testing from "../src/testing.js"

describe("entry points", () => {
  it("the main entry holds what a runtime module needs; the test kit is in /testing", () => {
    assert.includeMembers(Object.keys(main), ["defineRuntime", "loadRuntimeModule", "Runtime", "ModuleLoader"])
    assert.notIncludeMembers(Object.keys(main), ["Conformance", "HostileCorpus"])
    assert.deepStrictEqual(Object.keys(testing).sort(), ["Conformance", "HostileCorpus"])
    assert.isFunction(testing.Conformance.run)
    assert.isFunction(testing.HostileCorpus.make)
  })
})
