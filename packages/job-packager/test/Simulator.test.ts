import { Command, FileSystem, Path } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { FlareInstallation, FlareRunner, JobPackage, Simulator } from "../src/index.js"
import * as fixtures from "./fixtures/numpyJob.js"
import { Installation } from "./support/flare.js"
import { processesUsing } from "./support/processes.js"

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex")
const TOKENS = { "gw-a": "dal-token-of-gateway-a-0123456789", "gw-b": "dal-token-of-gateway-b-9876543210" }

/** Two gateways, as a runtime's dataset-to-gateway map names them, each with its own APH_* environment. */
const sites: ReadonlyArray<FlareRunner.Site> = [
  {
    name: "gw-a",
    env: { APH_API_DAL_URL: "http://dal-a.local", APH_DATA: "{\"ds-1\":\"s3://bucket-a/ds-1.zip\"}" },
    secrets: { APH_DAL_TOKEN: Redacted.make(TOKENS["gw-a"]) }
  },
  {
    name: "gw-b",
    env: { APH_API_DAL_URL: "http://dal-b.local", APH_DATA: "{\"ds-2\":\"s3://bucket-b/ds-2/\"}" },
    secrets: { APH_DAL_TOKEN: Redacted.make(TOKENS["gw-b"]) }
  }
]

const readModel = (file: string) =>
  Effect.flatMap(FlareInstallation.FlareInstallation, (installation) =>
    Command.make(
      installation.python,
      "-c",
      "import json, sys, numpy; print(json.dumps(numpy.load(sys.argv[1]).tolist()))",
      file
    ).pipe(Command.string, Effect.map((text) => JSON.parse(text) as Array<Array<number>>)))

const Live = Simulator.layer({ grace: "3 seconds" }).pipe(Layer.provideMerge(Installation))

layer(Live, { excludeTestServices: true, timeout: 120_000 })("Simulator", (it) => {
  it.scoped("runs a packaged job on two sites, each with its own environment, and reports FLARE's results", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const workspace = path.join(yield* fs.makeTempDirectoryScoped(), "run")
      const lines: Array<FlareRunner.LogLine> = []
      const result = yield* FlareRunner.run({
        job: yield* JobPackage.make("fedkit-np", fixtures.files),
        sites,
        outputDir: workspace,
        onLog: (line) => Effect.sync(() => void lines.push(line))
      })
      assert.strictEqual(result.status, "FINISHED:COMPLETED")
      assert.deepStrictEqual(result.exitCode, Option.some(0))
      assert.strictEqual(result.workspace, workspace)

      // FedAvg over two identical trainers that add 1: the global model moved by exactly 1 per round.
      const model = yield* readModel(Option.getOrThrow(result.globalModel))
      assert.deepStrictEqual(model, fixtures.INITIAL_MODEL.map((row) => row.map((value) => value + fixtures.ROUNDS)))
      assert.strictEqual(result.metrics.rounds.length, fixtures.ROUNDS)
      const summary = Option.getOrThrow(result.metrics.summary) as {
        final_aggregated_metrics: Array<{ name: string; value: number }>
      }
      assert.deepStrictEqual(summary.final_aggregated_metrics, [{ name: "weight_mean", value: 2.5 + fixtures.ROUNDS }])

      // Each site's trainer saw its own gateway's variables, and its own token.
      const text = lines.map((line) => line.text)
      for (const site of sites) {
        const seen = text.find((line) => line.includes(`[fedkit-env] site=${site.name} `))
        assert.isDefined(seen, `no environment report from ${site.name}`)
        assert.include(seen!, `dal_url=${site.env!["APH_API_DAL_URL"]} data=${site.env!["APH_DATA"]} `)
        assert.include(seen!, `token_sha256=${sha256(TOKENS[site.name as "gw-a" | "gw-b"])}`)
      }
      // The tokens are in no log line and in no file FLARE or this package wrote.
      for (const token of Object.values(TOKENS)) {
        assert.isFalse(text.some((line) => line.includes(token)))
        for (const file of yield* fs.readDirectory(workspace, { recursive: true })) {
          const full = path.join(workspace, file)
          if ((yield* fs.stat(full)).type !== "File") continue
          assert.notInclude(yield* fs.readFileString(full).pipe(Effect.orElseSucceed(() => "")), token, file)
        }
      }
      assert.isTrue(yield* fs.exists(Option.getOrThrow(result.logs.server)))
    }))

  it.scoped("stops at the first failing site and names it with its own reason, redacted, in seconds", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const lines: Array<string> = []
      const started = Date.now()
      const error = yield* FlareRunner.run({
        job: yield* JobPackage.make("fedkit-np", fixtures.files),
        sites,
        env: { FEDKIT_TEST_CRASH: "1" },
        outputDir: yield* fs.makeTempDirectoryScoped(),
        onLog: (line) => Effect.sync(() => void lines.push(line.text))
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "SiteFailed")
      const failed = error as FlareRunner.SiteFailed
      assert.match(failed.site, /^gw-[ab]$/)
      assert.strictEqual(failed.reason, "crashing on purpose with token <redacted>")
      assert.match(failed.message, /^site gw-[ab] failed: crashing on purpose with token <redacted>; job fedkit-np /)
      // FLARE alone would wait for the missing site; the watch stops the run long before the 120 s test timeout.
      assert.isBelow(Date.now() - started, 90_000)
      assert.isTrue(lines.some((line) => line.includes("crashing on purpose with token <redacted>")))
      for (const token of Object.values(TOKENS)) {
        assert.isFalse(lines.some((line) => line.includes(token)))
        assert.notInclude(failed.message, token)
      }
    }))

  it.scoped(
    "a run started from an uninterruptible region still ends, its watchers and processes stopped",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const output = yield* fs.makeTempDirectoryScoped()
        // A caller may well start a run from an uninterruptible region (a submission registered atomically): the run's
        // site watchers, its race against the first site failure and its timeout must still be able to stop things.
        const ended = yield* FlareRunner.run({
          job: yield* JobPackage.make("fedkit-np", fixtures.files),
          sites,
          env: { FEDKIT_TEST_CRASH: "1" },
          outputDir: output
        }).pipe(Effect.flip, Effect.uninterruptible, Effect.disconnect, Effect.timeoutOption("90 seconds"))
        assert.isTrue(Option.isSome(ended), "the run did not end")
        assert.strictEqual(Option.getOrThrow(ended)._tag, "SiteFailed")
        assert.deepStrictEqual(processesUsing(output), [])
      }),
    { timeout: 150_000 }
  )

  it.scoped("interrupting a run stops every FLARE process it started", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const workspace = yield* fs.makeTempDirectoryScoped()
      const trainersUp = yield* Deferred.make<void>()
      let reports = 0
      const fiber = yield* FlareRunner.run({
        job: yield* JobPackage.make("fedkit-np", fixtures.files),
        sites,
        env: { FEDKIT_TEST_SLEEP: "600" },
        outputDir: workspace,
        onLog: (line) =>
          line.text.includes("[fedkit-env]") && ++reports === sites.length
            ? Deferred.succeed(trainersUp, undefined)
            : Effect.void
      }).pipe(Effect.fork)
      yield* Deferred.await(trainersUp).pipe(Effect.timeout("90 seconds"))
      const running = processesUsing(workspace)
      assert.isTrue(running.some((found) => found.cmdline.includes("custom/client.py")), "no trainer seen")
      assert.isTrue(running.some((found) => found.cmdline.includes("simulator_worker")), "no site worker seen")
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(processesUsing(workspace), [])
      for (const found of running) assert.isFalse(isAlive(found.pid, found.cmdline), `${found.pid} ${found.cmdline}`)
    }), 150_000) // above the 90 s the trainers may take to come up on a loaded machine, so that bound reports first

  it.scoped("a run that outlives its timeout fails with RunTimedOut and leaves nothing running", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const workspace = yield* fs.makeTempDirectoryScoped()
      const error = yield* FlareRunner.run({
        job: yield* JobPackage.make("fedkit-np", fixtures.files),
        sites,
        env: { FEDKIT_TEST_SLEEP: "600" },
        outputDir: workspace,
        timeout: "15 seconds"
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "RunTimedOut")
      assert.deepStrictEqual(processesUsing(workspace), [])
    }))

  it.effect("refuses what it cannot run before starting anything", () =>
    Effect.gen(function*() {
      const job = yield* JobPackage.make("fedkit-np", fixtures.files)
      const cases: ReadonlyArray<readonly [ReadonlyArray<FlareRunner.Site>, RegExp]> = [
        [[], /at least 1 site/],
        [[{ name: "server" }], /name for the server/],
        [[{ name: "gw a" }], /not a FLARE site name/],
        [[{ name: "gw-a" }, { name: "gw-a" }], /given twice/],
        [[{ name: "gw-a", env: { "BAD-NAME": "x" } }], /not an environment variable name/]
      ]
      for (const [badSites, reason] of cases) {
        const error = yield* FlareRunner.run({ job, sites: badSites }).pipe(Effect.flip)
        assert.strictEqual(error._tag, "InvalidRunRequest")
        assert.match(error.message, reason)
      }
      const threads = yield* FlareRunner.run({ job, sites, threads: 3 }).pipe(Effect.flip)
      assert.match(threads.message, /threads must be an integer from 1 to the number of sites \(2\)/)
    }))
})

/** Whether the process that had this pid and command line still runs (a reused pid runs something else). */
const isAlive = (pid: number, cmdline: string) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim() === cmdline
  } catch {
    return false
  }
}
