// Runs bench/bridge_overhead.py (the bridge's per-round exchange overhead for 10^6 float32 parameters) with the
// project's FLARE venv against the built trainer bundle, serving it one gateway's data from a loopback DAL (the
// trainer answers only after its preflight). Usage: pnpm bench [PARAMETERS] [ROUNDS]
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { DalServer } from "@fedkit/dal-server"
import { FlareToolchain } from "@fedkit/flare-toolchain"
import { FlareInstallation } from "@fedkit/job-packager"
import { Effect, Either, Layer, Logger, LogLevel, Redacted } from "effect"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { BreastCancer, DalFixture, FlareJob, Split } from "../dist/index.js"

const script = fileURLToPath(new URL("./bridge_overhead.py", import.meta.url))
const token = "bench-token"

const program = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const { python } = yield* FlareInstallation.FlareInstallation
  const root = yield* fs.makeTempDirectoryScoped({ prefix: "fedkit-bench-dal-" })
  const split = Either.getOrThrow(Split.split(yield* BreastCancer.load))
  const [gateway] = yield* DalFixture.write(root, split.shards.slice(0, 1))
  const server = yield* DalServer.start({
    root,
    tokens: [{ name: "bench", token: Redacted.make(token), prefixes: [DalFixture.prefix(gateway)] }],
    policies: DalFixture.policies([gateway])
  }).pipe(Logger.withMinimumLogLevel(LogLevel.Warning))
  const env = {
    ...process.env,
    APH_API_DAL_URL: server.url,
    APH_DAL_TOKEN: token,
    APH_DATA: DalFixture.aphData(gateway)
  }
  // Async spawn: the DAL server lives in this process and must keep answering.
  const child = yield* Effect.async((resume) => {
    const proc = spawn(python, [script, FlareJob.DEFAULT_CUSTOM_DIR, ...process.argv.slice(2)], {
      env,
      stdio: "inherit"
    })
    proc.on("exit", (code) => resume(Effect.succeed(code ?? 1)))
  })
  if (child !== 0) return yield* Effect.fail(new Error(`bridge_overhead.py exited ${child}`))
}).pipe(Effect.scoped)

program.pipe(
  Effect.provide(FlareToolchain.layer.pipe(Layer.provideMerge(NodeContext.layer))),
  Effect.runPromise
).catch((error) => {
  process.stderr.write(`${error.message ?? error}\n`)
  process.exit(1)
})
