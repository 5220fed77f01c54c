// The FLARE JSON the builders, config modules and catalog produce, held byte for byte against
// `fixtures/generated-configs.json`, which the modules wrote before they were derived from one declaration each
// (`defineComponent`, `configFile.define`): a refactoring of how they are declared must not change one byte.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { readFileSync } from "node:fs"
import {
  Aggregators,
  Catalog,
  ClientConfig,
  Filters,
  Job,
  Persistors,
  ServerConfig,
  Widgets,
  Workflows
} from "../src/index.js"
import { program } from "./fixtures/readme.job.js"
import { buildJob } from "./support/fedavgJob.js"
import { samples } from "./support/samples.js"

const expected = JSON.parse(readFileSync(new URL("./fixtures/generated-configs.json", import.meta.url), "utf8"))

const shown = (built: Either.Either<unknown, unknown>): string =>
  Either.isRight(built) ? JSON.stringify(built.right) : String(built.left)

const errorOf = (decoded: Either.Either<unknown, unknown>): string =>
  Either.isLeft(decoded) ? String(decoded.left) : "ok"

describe("generated configs", () => {
  it.effect("builders, defaults and errors are what they were", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual((yield* samples).map((component) => JSON.stringify(component)), expected.samples)
      assert.deepStrictEqual(
        [
          Workflows.fedAvg({}),
          Persistors.npModelPersistor(),
          Persistors.npModelLocator(),
          Aggregators.fullModelShareableGenerator(),
          Aggregators.inTimeAccumulateWeightedAggregator(),
          Widgets.validationJsonGenerator(),
          Filters.percentilePrivacy(),
          Persistors.npModelPersistor({}, { id: "p" }),
          Workflows.scatterAndGather({ min_clients: 0 }),
          Filters.excludeVars({ exclude_vars: 3 } as unknown as Filters.ExcludeVarsArgs)
        ].map(shown),
        expected.defaults
      )
    }))

  it.effect("whole jobs, for both targets and layouts, are byte-identical", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* program, expected.readme)
      for (const layout of ["all", "named"] as const) {
        for (const target of ["2.9", "2.8"] as const) {
          const files = yield* Job.toFiles(yield* buildJob({ clients: 3, rounds: 2, scale: 1, layout, target }))
          assert.deepStrictEqual({ ...files }, expected[`job-${layout}-${target}`])
        }
      }
    }))

  it.effect("config files encode and fail as they did", () =>
    Effect.gen(function*() {
      const server = yield* ServerConfig.make({
        workflows: [yield* Workflows.fedAvg({ num_rounds: 1 })],
        variables: { x: 1 }
      })
      assert.deepStrictEqual([
        ServerConfig.toJson(server),
        JSON.stringify(ServerConfig.encode(server)),
        errorOf(ServerConfig.fromJson("{}")),
        errorOf(ClientConfig.fromJson(`{"format_version": 2, "executors": [], "workflows": 1}`, "x/c.json"))
      ], expected.server)
    }))

  it("the catalog holds the same entries", () => {
    const entries = Catalog.entries.map((entry) => ({
      ...entry,
      args: String(entry.args),
      a29: Catalog.argNames(entry, "2.9"),
      a28: Catalog.argNames(entry, "2.8")
    }))
    assert.deepStrictEqual(
      JSON.parse(JSON.stringify(entries)),
      expected.catalog.map((entry: string) => JSON.parse(entry))
    )
  })
})
