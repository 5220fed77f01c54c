import { assert, describe, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import * as Dataset2Gw from "../src/Dataset2Gw.js"

const decoded = (input: unknown) => Either.getOrThrow(Dataset2Gw.decode(input))
const plain = (map: Dataset2Gw.Dataset2Gw): Readonly<Record<string, string>> => map
const issues = (input: unknown) => {
  const result = Dataset2Gw.decode(input)
  assert.isTrue(Either.isLeft(result))
  return (result as Either.Left<Dataset2Gw.InvalidDataset2Gw, unknown>).left.issues
}

describe("Dataset2Gw", () => {
  it("decodes a valid map", () => {
    assert.deepStrictEqual(plain(decoded({ "whas1_gateway-1_org-1": "gateway-1" })), {
      "whas1_gateway-1_org-1": "gateway-1"
    })
  })

  it("refuses a missing or empty map, or one that is not a map", () => {
    assert.deepStrictEqual(issues(undefined), [{ path: "dataset2gw", message: "is missing" }])
    assert.deepStrictEqual(issues(null), [{ path: "dataset2gw", message: "is missing" }])
    assert.deepStrictEqual(issues({}), [{
      path: "dataset2gw",
      message: "Expected at least one dataset, got an empty map"
    }])
    assert.deepStrictEqual(issues(["a"]), [{
      path: "dataset2gw",
      message: "Expected an object, got an array of 1 item"
    }])
  })

  it("holds gateway ids to FLARE's site-name rules", () => {
    const bad = {
      a: "site 1",
      b: "site.1",
      c: "site-1\n",
      d: "server",
      e: "x".repeat(65),
      f: "",
      g: "@ALL",
      h: "gateway-\u0430"
    }
    assert.deepStrictEqual(issues(bad).map((issue) => issue.path), [
      "dataset2gw.a",
      "dataset2gw.b",
      "dataset2gw.c",
      "dataset2gw.d",
      "dataset2gw.e",
      "dataset2gw.f",
      "dataset2gw.g",
      "dataset2gw.h"
    ])
    assert.include(issues({ a: "server" })[0]?.message, "reserved")
    assert.include(issues({ a: "x".repeat(65) })[0]?.message, "at most 64 characters")
    assert.deepStrictEqual(plain(decoded({ a: "x".repeat(64), b: "Site_9-x" })), { a: "x".repeat(64), b: "Site_9-x" })
  })

  it("refuses dataset ids with invisible characters", () => {
    assert.strictEqual(issues({ "ds\u202e": "site-1" })[0]?.path, "dataset2gw[\"ds\\u202e\"]")
  })

  it("derives the distinct gateways, min_clients and deploy maps", () => {
    const map = decoded({ "ds-3": "site-b", "ds-1": "site-a", "ds-2": "site-b" })
    assert.deepStrictEqual(Dataset2Gw.gateways(map) as ReadonlyArray<string>, ["site-a", "site-b"])
    assert.strictEqual(Dataset2Gw.minClients(map), 2)
    assert.deepStrictEqual(Dataset2Gw.datasetsByGateway(map) as unknown, [["site-a", ["ds-1"]], ["site-b", [
      "ds-2",
      "ds-3"
    ]]])
    assert.deepStrictEqual(Dataset2Gw.deployMapShared(map), { app: ["server", "site-a", "site-b"] })
    assert.deepStrictEqual(Dataset2Gw.deployMapPerGateway(map), {
      app_server: ["server"],
      "app_site-a": ["site-a"],
      "app_site-b": ["site-b"]
    })
    assert.deepStrictEqual(
      Dataset2Gw.deployMapPerGateway(map, { serverApp: "srv", appFor: (gateway) => `train-${gateway}` }),
      { srv: ["server"], "train-site-a": ["site-a"], "train-site-b": ["site-b"] }
    )
  })

  it.prop("gateways are distinct, sorted and independent of the map's order", [Dataset2Gw.Dataset2Gw], ([map]) => {
    const gateways = Dataset2Gw.gateways(map)
    assert.deepStrictEqual(gateways, [...new Set(Object.values(map))].sort())
    assert.deepStrictEqual(
      Dataset2Gw.gateways(Object.fromEntries(Object.entries(map).reverse()) as typeof map),
      gateways
    )
    assert.strictEqual(Dataset2Gw.minClients(map), gateways.length)
  }, { fastCheck: { numRuns: 50 } })

  it("generates valid maps from its schema", () => {
    FastCheck.assert(
      FastCheck.property(Arbitrary.make(Dataset2Gw.Dataset2Gw), (map) => Schema.is(Dataset2Gw.Dataset2Gw)(map)),
      { numRuns: 20 }
    )
  })
})
