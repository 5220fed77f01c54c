import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Logger from "effect/Logger"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { DalServer, FaultFile, PolicyFile, TokenFile } from "../src/index.js"
import { encodeKey, parseKey, parseTarget } from "../src/internal/keys.js"

/** File and folder names as they occur on disk: anything but "/", NUL, backslash, "." and "..". */
const Segment = Schema.String.pipe(
  Schema.minLength(1),
  Schema.filter((s) => !/[/\\\0]/.test(s) && s !== "." && s !== ".." && !s.startsWith(".fedkit-upload-"))
)

describe("keys in URLs", () => {
  it.prop(
    "a key encoded per segment decodes back to itself",
    [Segment, Schema.Array(Segment), Schema.Boolean],
    ([bucket, segments, folder]) => {
      const key = `s3://${bucket}/${segments.join("/")}${folder && segments.length > 0 ? "/" : ""}`
      const target = Either.getOrThrow(parseTarget(`/datasets/${encodeKey(key)}?cursor=x`))
      assert.strictEqual(target.rest, key)
      assert.strictEqual(target.query.get("cursor"), "x")
      assert.isTrue(Either.isRight(parseKey(key)))
    },
    { fastCheck: { numRuns: 200 } }
  )

  it("absolute-form request targets are routed by their path", () => {
    const target = Either.getOrThrow(parseTarget("http://dal.local:8080/policies/s3://b/x.csv"))
    assert.deepInclude(target, { endpoint: "policies", rest: "s3://b/x.csv" })
  })
})

const withFile = (content: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "fedkit-dal-files-"))
      await fs.writeFile(path.join(dir, "file.json"), content)
      return { dir, file: path.join(dir, "file.json") }
    }),
    ({ dir }) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
  ).pipe(Effect.map(({ file }) => file))

describe("config files", () => {
  it.scoped("a token file decodes tokens as Redacted", () =>
    Effect.gen(function*() {
      const file = yield* withFile(JSON.stringify({ tokens: [{ name: "g", token: "abc-123", prefixes: ["s3://b/"] }] }))
      const [grant] = yield* TokenFile.load(file)
      assert.strictEqual(Redacted.value(grant!.token), "abc-123")
      assert.notInclude(String(grant!.token), "abc-123")
      assert.notInclude(JSON.stringify(grant), "abc-123")
    }))

  it.scoped("a policy file keeps its JSON as written and refuses invalid keys and fields", () =>
    Effect.gen(function*() {
      const policies = { "s3://b/d/": { zeta: 1, permissions: { explore: true, extra: [1] }, privacy: {} } }
      const good = yield* withFile(JSON.stringify({ policies }))
      const loaded = yield* PolicyFile.load(good)
      assert.strictEqual(JSON.stringify(loaded), JSON.stringify(policies))
      const badKey = yield* withFile(JSON.stringify({ policies: { "s3://b/../x": {} } }))
      const keyError = yield* Effect.flip(PolicyFile.load(badKey))
      assert.include(keyError.message, "\"..\" path segment")
      const badField = yield* withFile(JSON.stringify({ policies: { "s3://b/": { permissions: { explore: "yes" } } } }))
      const fieldError = yield* Effect.flip(PolicyFile.load(badField))
      assert.include(fieldError.message, "policies.s3://b/.permissions.explore")
    }))

  it.scoped("a fault file decodes regex keys and \"always\"", () =>
    Effect.gen(function*() {
      const file = yield* withFile(JSON.stringify({
        faults: [
          { key: { regex: "\\.csv$" }, times: "always", fault: { _tag: "Status", status: 503 } },
          { method: "GET", key: "s3://b/", fault: { _tag: "StallBody", afterBytes: 10, millis: 5 } }
        ]
      }))
      const [first, second] = yield* FaultFile.load(file)
      assert.instanceOf(first!.key, RegExp)
      assert.isTrue((first!.key as RegExp).test("s3://b/x.csv"))
      assert.strictEqual(first!.times, Infinity)
      assert.deepStrictEqual(second, {
        method: "GET",
        key: "s3://b/",
        fault: { _tag: "StallBody", afterBytes: 10, millis: 5 }
      })
      const bad = yield* withFile(JSON.stringify({ faults: [{ key: { regex: "(" }, fault: { _tag: "Nope" } }] }))
      assert.include((yield* Effect.flip(FaultFile.load(bad))).message, "invalid fault file")
    }))
})

describe("options", () => {
  it.scoped("invalid options fail DalServer.start with a DalServerError saying what is wrong", () =>
    Effect.gen(function*() {
      const root = path.dirname(yield* withFile("{}"))
      const cases: ReadonlyArray<[DalServer.Options, string]> = [
        [{ root: path.join(root, "missing") }, "the data root must be an existing folder"],
        [{ root: path.join(root, "file.json") }, "the data root must be an existing folder"],
        [{ root, pageSize: 0 }, "pageSize must be a positive integer"],
        [{ root, port: 70000 }, "port must be an integer from 0 to 65535"],
        [{ root, policies: { "bucket/x": {} } }, "must start with \"s3://\""],
        [{ root, policies: { "s3://b/": { permissions: [] } } }, "invalid policies"],
        [{ root, tokens: [{ name: "t", token: Redacted.make("x"), prefixes: ["b/"] }] }, "must start with s3://"]
      ]
      for (const [options, message] of cases) {
        const error = yield* Effect.flip(DalServer.start(options))
        assert.strictEqual(error._tag, "DalServerError")
        assert.include(error.message, message)
      }
      // a taken port is a Listen error
      const first = yield* DalServer.start({ root })
      const taken = yield* Effect.flip(DalServer.start({ root, port: Number(new URL(first.url).port) }))
      assert.strictEqual(taken.reason, "Listen")
    }).pipe(Effect.provide(Logger.remove(Logger.defaultLogger))))
})
