import { Command, FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { FlareToolchain } from "@fedkit/flare-toolchain"
import { FlareInstallation } from "@fedkit/job-packager"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { fileURLToPath } from "node:url"
import { inject } from "vitest"
import * as Trainer from "../src/Trainer.js"
import * as Dal from "./support/dal.js"

const HARNESS = fileURLToPath(new URL("./support/bridge_harness.py", import.meta.url))
const customDir = inject("customDir")

const Live = FlareToolchain.layer.pipe(Layer.provideMerge(NodeContext.layer))

/** Runs a Python script with the project's FLARE venv; returns its exit code and every output line. */
const python = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.gen(function*() {
    const installation = yield* FlareInstallation.FlareInstallation
    const process = yield* Command.make(installation.python, ...args).pipe(Command.env(env), Command.start)
    const lines = (bytes: Stream.Stream<Uint8Array, unknown>) => bytes.pipe(Stream.decodeText(), Stream.splitLines)
    const output = yield* Stream.merge(lines(process.stdout), lines(process.stderr)).pipe(Stream.runCollect)
    return { exitCode: yield* process.exitCode, lines: Chunk.toReadonlyArray(output) }
  }).pipe(Effect.scoped)

interface HarnessResult {
  readonly ready?: { readonly samples: number; readonly functionName: string }
  readonly history?: ReadonlyArray<
    { readonly phase: string; readonly samples: number; readonly metrics: Record<string, number> }
  >
  readonly pong_equal?: boolean
  readonly failed?: { readonly type: string; readonly place: string; readonly reason: string }
  readonly exit_code: number
}

const resultOf = (lines: ReadonlyArray<string>): HarnessResult =>
  JSON.parse(lines.find((line) => line.startsWith("RESULT "))!.slice("RESULT ".length))

const noSecrets = (lines: ReadonlyArray<string>) => {
  for (const line of lines) assert.notInclude(line, Dal.SECRET_MARK)
}

describe("the Python bridge and the bundled Node trainer, without FLARE", () => {
  layer(Live, { excludeTestServices: true })((it) => {
    it.scoped(
      "exchange rounds over stdio: statistics, training with falling loss, ping, clean shutdown",
      () =>
        Effect.gen(function*() {
          const { gateways, server } = yield* Dal.start()
          const zip = gateways[1]!
          const run = yield* python([HARNESS, customDir, "3"], Dal.env(server.url, zip))
          const result = resultOf(run.lines)
          assert.strictEqual(run.exitCode, 0)
          assert.strictEqual(result.ready?.samples, zip.samples)
          assert.strictEqual(result.ready?.functionName, Trainer.FUNCTION_NAME)
          assert.deepStrictEqual(result.history?.map((h) => h.phase), [
            "statistics",
            "training",
            "training",
            "training"
          ])
          const losses = result.history!.slice(1).map((h) => h.metrics["global_loss"]!)
          losses.slice(1).forEach((loss, i) => assert.isBelow(loss, losses[i]!))
          assert.isTrue(result.pong_equal)
          assert.strictEqual(result.exit_code, 0)
          // The trainer's own log lines reach the bridge's output (and so the FLARE log).
          assert.isTrue(
            run.lines.some((line) => line.startsWith(`fedkit-trainer INFO: round 2: trained on ${zip.samples} rows`))
          )
          assert.isTrue(run.lines.some((line) => line.includes("1 archive(s) extracted")))
          noSecrets(run.lines)
        }),
      { timeout: 60_000 }
    )

    it.scoped(
      "the bridge exits 1 with the trainer's sanitized reason when the policy refuses",
      () =>
        Effect.gen(function*() {
          const { gateways, server } = yield* Dal.start({ allowed: () => false })
          const env = Dal.env(server.url, gateways[0]!)
          const harness = resultOf((yield* python([HARNESS, customDir, "1"], env)).lines)
          assert.strictEqual(harness.failed?.type, "PolicyRefused")
          assert.strictEqual(harness.exit_code, 1)
          // The real bridge script: it fails before connecting to FLARE, so no FLARE is needed to see this.
          const bridge = yield* python(
            [`${customDir}/fedkit_bridge.py`, "--optimizer", "adam", "--learning-rate", "0.01"],
            env
          )
          assert.strictEqual(bridge.exitCode, 1)
          assert.isTrue(bridge.lines.some((line) =>
            line.startsWith("fedkit-site-failure: PolicyRefused at preflight/policy: ") &&
            line.includes(Trainer.FUNCTION_NAME)
          ))
          assert.isFalse(bridge.lines.some((line) =>
            line.includes("Traceback")
          ))
          noSecrets([...bridge.lines, JSON.stringify(harness)])
        }),
      { timeout: 60_000 }
    )

    it.scoped(
      "reports an unexpected exception by type and place only, and still shuts the trainer down",
      () =>
        Effect.gen(function*() {
          const { gateways, server } = yield* Dal.start()
          // Outside FLARE, flare.init() raises once the trainer is ready: the bridge's catch-all path.
          const run = yield* python(
            [`${customDir}/fedkit_bridge.py`, "--optimizer", "adam", "--learning-rate", "0.01"],
            Dal.env(server.url, gateways[0]!)
          )
          assert.strictEqual(run.exitCode, 1)
          assert.include(run.lines, "fedkit-trainer INFO: shutting down")
          assert.isTrue(
            run.lines.some((line) =>
              /^fedkit-site-failure: unexpected \w+ at fedkit_bridge\.py:\d+ in \w+$/.test(line)
            ),
            run.lines.join("\n")
          )
          assert.isFalse(run.lines.some((line) => line.includes("Traceback")))
          noSecrets(run.lines)
        }),
      { timeout: 60_000 }
    )

    it.scoped(
      "forwards only the trainer's own log lines: a crash dump is counted, not shown",
      () =>
        Effect.gen(function*() {
          const fs = yield* FileSystem.FileSystem
          const dir = yield* fs.makeTempDirectoryScoped()
          const crashing = `${dir}/crashing.mjs`
          yield* fs.writeFileString(
            crashing,
            "process.stderr.write('fedkit-trainer INFO: starting\\n')\n" +
              "process.stderr.write('TypeError: cannot parse row 17.99,10.38 for patient 4711\\n    at x (a.js:1:1)\\n')\n" +
              "process.exit(3)\n"
          )
          const run = yield* python(
            [`${customDir}/fedkit_bridge.py`, "--optimizer", "sgd", "--learning-rate", "0.1", "--trainer", crashing],
            {}
          )
          assert.strictEqual(run.exitCode, 1)
          assert.include(run.lines, "fedkit-trainer INFO: starting")
          assert.include(run.lines, "fedkit-site-failure: the trainer exited unexpectedly (exit code 3)")
          assert.include(
            run.lines,
            "fedkit-bridge: suppressed 2 trainer output line(s) without the fedkit-trainer prefix"
          )
          assert.isFalse(run.lines.some((line) => line.includes("4711") || line.includes("17.99")))
        }),
      { timeout: 60_000 }
    )

    it.scoped("the bridge refuses settings outside the Secure Runtime's bounds before starting anything", () =>
      Effect.gen(function*() {
        const run = yield* python([`${customDir}/fedkit_bridge.py`, "--optimizer", "adam", "--learning-rate", "3"], {})
        assert.strictEqual(run.exitCode, 2)
        assert.isTrue(run.lines.some((line) => line.includes("--learning-rate: must be in (0.0, 1.0]")))
      }))
  })
})
