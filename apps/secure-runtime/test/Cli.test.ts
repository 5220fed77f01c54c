import { assert, describe, it } from "@effect/vitest"
import { HostileCorpus } from "@fedkit/runtime-core/testing"
import * as Effect from "effect/Effect"
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type CliResult, runCli } from "./support/cli.js"
import { DATASET2GW, fixture, VALID } from "./support/fixtures.js"

const d2g = JSON.stringify(DATASET2GW)
const tempDir = () => mkdtempSync(join(tmpdir(), "fedkit-sr-cli-"))
const cli = (args: ReadonlyArray<string>, input?: string) =>
  Effect.promise(() => runCli(args, input === undefined ? {} : { input }))

const render = (out: string, input: string, extra: ReadonlyArray<string> = [], module = fixture("good")) =>
  cli(["render", "--module", module, "--payload", "-", "--dataset2gw", d2g, "--out", out, ...extra], input)

const lines = (result: CliResult) => result.stderr.trim().split("\n")

describe("secure-runtime render", () => {
  it.live("writes the job folder, manifest and zip, and reports them as JSON (exit 0)", () =>
    Effect.gen(function*() {
      const out = tempDir()
      const result = yield* render(out, JSON.stringify(VALID), ["--zip", "--json"])
      assert.strictEqual(result.code, 0, result.stderr)
      const summary = JSON.parse(result.stdout)
      assert.strictEqual(summary.job, "fedkit-numpy-fedavg")
      assert.deepStrictEqual(summary.files, [
        "app/config/config_fed_client.json",
        "app/config/config_fed_server.json",
        "app/custom/client.py",
        "meta.json"
      ])
      const manifest = JSON.parse(readFileSync(summary.manifest, "utf8"))
      assert.strictEqual(manifest.digest, summary.digest)
      assert.isTrue(existsSync(summary.zip))
      const server = JSON.parse(readFileSync(join(summary.folder, "app/config/config_fed_server.json"), "utf8"))
      assert.strictEqual(server.workflows[0].args.num_rounds, 2)
      assert.strictEqual(server.workflows[0].args.num_clients, 2)
      // The same payload renders byte-identically: same digest.
      const again = yield* render(out, JSON.stringify(VALID), ["--json", "--replace"])
      assert.strictEqual(again.code, 0, again.stderr)
      assert.strictEqual(JSON.parse(again.stdout).digest, summary.digest)
    }))

  it.live("reads the payload and dataset2gw from files", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      writeFileSync(join(dir, "payload.json"), JSON.stringify({ optimizer_name: "sgd" }))
      writeFileSync(join(dir, "d2g.json"), d2g)
      const result = yield* cli([
        "render",
        "--module",
        fixture("good"),
        "--payload",
        join(dir, "payload.json"),
        "--dataset2gw",
        join(dir, "d2g.json"),
        "--out",
        join(dir, "out"),
        "--name",
        "my-job"
      ])
      assert.strictEqual(result.code, 0, result.stderr)
      assert.isTrue(existsSync(join(dir, "out", "my-job", "meta.json")))
    }))

  it.live("refuses an invalid payload with one `path: message` line per problem (exit 3), writing nothing", () =>
    Effect.gen(function*() {
      const out = tempDir()
      const result = yield* render(out, JSON.stringify({ optimizer_name: "adamw", learning_rate: -1, extra: 1 }))
      assert.strictEqual(result.code, 3)
      assert.deepStrictEqual(lines(result).sort(), [
        "extra: is not an allowed field; allowed fields are \"optimizer_name\", \"learning_rate\", " +
        "\"num_federation_rounds\" and \"run_name\"",
        "learning_rate: Expected a positive number, got -1",
        "optimizer_name: Expected \"adam\" or \"sgd\", got \"adamw\""
      ])
      assert.strictEqual(result.stdout, "")
      assert.deepStrictEqual(readdirSync(out), [])
    }))

  it.live("refuses malformed JSON and oversized payloads (exit 3)", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const malformed = yield* render(dir, "{\"optimizer_name\": ")
      assert.strictEqual(malformed.code, 3)
      assert.match(malformed.stderr, /^optimizer_name: line 1, column \d+: /)
      writeFileSync(join(dir, "big.json"), `{"optimizer_name": "adam", "pad": "${"x".repeat(2 * 1024 * 1024)}"}`)
      const big = yield* cli([
        "render",
        "--module",
        fixture("good"),
        "--payload",
        join(dir, "big.json"),
        "--dataset2gw",
        d2g,
        "--out",
        dir
      ])
      assert.strictEqual(big.code, 3)
      assert.match(big.stderr, /^\(root\): the body is \d+ bytes; the limit is 1048576 bytes/)
      const bigStdin = yield* render(dir, `{"pad": "${"x".repeat(2 * 1024 * 1024)}"}`)
      assert.strictEqual(bigStdin.code, 3)
      assert.match(bigStdin.stderr, /the limit is 1048576 bytes/)
    }))

  it.live("exits 2 on usage errors", () =>
    Effect.gen(function*() {
      const out = tempDir()
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
        [["render", "--module", fixture("good"), "--payload", "-", "--out", out], /--dataset2gw/],
        [["render", "--module", fixture("good"), "--payload", "-", "--dataset2gw", "{nope", "--out", out], /not JSON/],
        [
          [
            "render",
            "--module",
            fixture("good"),
            "--payload",
            "-",
            "--dataset2gw",
            "{\"d\": \"server\"}",
            "--out",
            out
          ],
          /reserved/
        ],
        [
          ["render", "--module", fixture("good"), "--payload", "/no/such.json", "--dataset2gw", d2g, "--out", out],
          /no such/
        ],
        [
          ["render", "--module", fixture("good"), "--payload", "-", "--dataset2gw", d2g, "--out", out, "--port", "1"],
          /port/
        ]
      ]
      for (const [args, message] of cases) {
        const result = yield* cli(args, "{}")
        assert.strictEqual(result.code, 2, args.join(" "))
        assert.match(result.stderr + result.stdout, message)
      }
    }))

  it.live("exits 4 when the runtime's template fails, writing nothing", () =>
    Effect.gen(function*() {
      const out = tempDir()
      const result = yield* render(out, "{\"num_rounds\": 2}", [], fixture("throwing-template"))
      assert.strictEqual(result.code, 4)
      assert.match(result.stderr, /The runtime's template failed: .*the template exploded/)
      assert.deepStrictEqual(readdirSync(out), [])
    }))

  it.live("exits 1 and says what is missing when the module is not a runtime", () =>
    Effect.gen(function*() {
      const out = tempDir()
      const missing = yield* render(out, "{}", [], fixture("missing-export"))
      assert.strictEqual(missing.code, 1)
      assert.match(missing.stderr, /it does not export template\./)
      const absent = yield* render(out, "{}", [], join(out, "nowhere.js"))
      assert.strictEqual(absent.code, 1)
      assert.match(absent.stderr, /no such file or folder; pass --module PATH/)
    }))

  // The whole corpus goes through the HTTP API (Http.test.ts); a process per entry would take minutes here.
  it.live(
    "refuses hostile payloads of the main categories without crashing (exit 3, or 0 for a safe render)",
    () =>
      Effect.gen(function*() {
        const corpus = HostileCorpus.make({ ...VALID, run_name: "run" })
        const categories = ["malformed", "deep", "prototype", "injection", "unicode", "number"]
        const byCategory = new Map(corpus.map((entry) => [entry.category, entry]))
        const results = yield* Effect.forEach(
          categories.map((category) => byCategory.get(category as HostileCorpus.Category)!),
          (entry) => Effect.map(render(tempDir(), entry.body), (result) => [entry, result] as const),
          { concurrency: 4 }
        )
        for (const [entry, result] of results) {
          const allowed = entry.expect === "reject-or-safe" ? [0, 3] : [3]
          assert.include(allowed, result.code, `${entry.id}: ${result.stderr}`)
          if (result.code === 3) assert.match(result.stderr, /^[^\n]+: [^\n]+/, entry.id)
        }
      }),
    { timeout: 120_000 }
  )
})
