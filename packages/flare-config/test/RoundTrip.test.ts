// decode(encode(x)) = x for every file schema and for whole jobs, through the canonical text; and the same job
// always gives byte-identical files.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { CanonicalJson, ClientConfig, Job, JobMeta, ServerConfig } from "../src/index.js"
import { buildJob } from "./support/fedavgJob.js"

// Small structures: a job with a few apps and components shows a round-trip bug as well as a huge one does.
fc.configureGlobal({ ...fc.readConfigureGlobal(), baseSize: "xsmall" })

const throughText = <A, I>(schema: Schema.Schema<A, I>, value: A) => {
  const text = CanonicalJson.stringify(Schema.encodeSync(schema)(value) as CanonicalJson.JsonValue)
  return { text, decoded: Schema.decodeUnknownSync(schema, { onExcessProperty: "error" })(JSON.parse(text)) }
}

describe("round trips", () => {
  it.prop("meta.json", [JobMeta.JobMeta], ([meta]) => {
    const { decoded, text } = throughText(JobMeta.JobMeta, meta)
    assert.deepStrictEqual(decoded, meta)
    assert.strictEqual(JobMeta.toJson(decoded), text)
    // What the module decoded (checked, frozen) is written without encoding it again: the same text.
    assert.strictEqual(JobMeta.toJson(Either.getOrThrow(JobMeta.decode(JSON.parse(text)))), text)
  }, { fastCheck: { numRuns: 150 } })

  it.prop("config_fed_server.json", [ServerConfig.ServerConfig], ([config]) => {
    const { decoded, text } = throughText(ServerConfig.ServerConfig, config)
    assert.deepStrictEqual(decoded, config)
    assert.strictEqual(ServerConfig.toJson(decoded), text)
    assert.strictEqual(ServerConfig.toJson(Either.getOrThrow(ServerConfig.decode(JSON.parse(text)))), text)
  }, { fastCheck: { numRuns: 100 } })

  it.prop("config_fed_client.json", [ClientConfig.ClientConfig], ([config]) => {
    const { decoded, text } = throughText(ClientConfig.ClientConfig, config)
    assert.deepStrictEqual(decoded, config)
    assert.strictEqual(ClientConfig.toJson(decoded), text)
    assert.strictEqual(ClientConfig.toJson(Either.getOrThrow(ClientConfig.decode(JSON.parse(text)))), text)
  }, { fastCheck: { numRuns: 100 } })

  it.prop("a whole job, through its files", [Job.FlareJob], ([job]) => {
    const files = Job.render(job)
    const decoded = Either.getOrThrowWith(
      Job.fromFiles(files, { target: job.target }),
      (error) => new Error(error.message)
    )
    // Files hold what is deployed; an app with no config and no custom file writes nothing.
    const written = Object.fromEntries(
      Object.entries(job.apps).filter(([, app]) =>
        app.server !== undefined || app.client !== undefined || Object.keys(app.custom).length > 0
      )
    )
    assert.deepStrictEqual(decoded, { ...job, apps: written })
    assert.deepStrictEqual(Job.render(decoded), files)
  }, { fastCheck: { numRuns: 100 } })
})

describe("byte-stable output", () => {
  it.effect("the same payload gives byte-identical files, whatever order it was assembled in", () =>
    Effect.gen(function*() {
      const options = { clients: 3, rounds: 2, scale: 0.25, layout: "named" } as const
      const first = yield* Effect.flatMap(buildJob(options), Job.toFiles)
      const second = yield* Effect.flatMap(buildJob(options), Job.toFiles)
      assert.deepStrictEqual(second, first)
      // Reassemble the job from a JSON copy with every object's keys reversed.
      const reverse = (value: unknown): unknown =>
        Array.isArray(value)
          ? value.map(reverse)
          : value !== null && typeof value === "object"
          ? Object.fromEntries(Object.entries(value).reverse().map(([key, item]) => [key, reverse(item)]))
          : value
      const job = yield* buildJob(options)
      const shuffled = yield* Job.decode(reverse(Job.encode(job)))
      assert.deepStrictEqual(yield* Job.toFiles(shuffled), first)
      assert.deepStrictEqual(Object.keys(first), [
        "meta.json",
        "app_clients/config/config_fed_client.json",
        "app_clients/custom/trainer.py",
        "app_server/config/config_fed_server.json"
      ])
    }))

  it.prop("files of jobs built from random payloads round-trip and are stable", [
    fc.integer({ min: 1, max: 6 }),
    fc.integer({ min: 1, max: 50 }),
    fc.double({ min: -10, max: 10, noNaN: true }),
    fc.constantFrom("all" as const, "named" as const),
    fc.constantFrom("2.9" as const, "2.8" as const)
  ], ([clients, rounds, scale, layout, target]) => {
    const files = Effect.runSync(Effect.flatMap(buildJob({ clients, rounds, scale, layout, target }), Job.toFiles))
    const decoded = Either.getOrThrowWith(Job.fromFiles(files, { target }), (error) => new Error(error.message))
    assert.deepStrictEqual(Job.render(decoded), files)
  }, { fastCheck: { numRuns: 40 } })
})
