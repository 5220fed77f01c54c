import { FileSystem, Path } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createHash } from "node:crypto"
import { homedir } from "node:os"
import { join } from "node:path"
import { FlareRunner, JobPackage, Poc } from "../src/index.js"
import * as fixtures from "./fixtures/numpyJob.js"
import { Installation, leftInSharedStores } from "./support/flare.js"
import { listeningAddresses, processesUsing } from "./support/processes.js"

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex")

const sites: ReadonlyArray<FlareRunner.Site> = [
  {
    name: "gw-a",
    env: { APH_API_DAL_URL: "http://dal-a.local", APH_DATA: "{\"ds-1\":\"s3://bucket-a/ds-1.zip\"}" },
    secrets: { APH_DAL_TOKEN: Redacted.make("poc-token-of-gateway-a") }
  },
  {
    name: "gw-b",
    env: { APH_API_DAL_URL: "http://dal-b.local", APH_DATA: "{\"ds-2\":\"s3://bucket-b/ds-2/\"}" },
    secrets: { APH_DAL_TOKEN: Redacted.make("poc-token-of-gateway-b") }
  }
]

const readText = (file: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(file)).pipe(Effect.orElseSucceed(() => ""))

layer(Installation, { excludeTestServices: true, timeout: 180_000 })("Poc", (it) => {
  it.scoped(
    "provisions a 2-site POC on loopback, runs the job with per-site environments, and removes it all",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const root = yield* fs.makeTempDirectoryScoped()
        const userConfig = join(homedir(), ".nvflare", "config.conf")
        const userConfigBefore = yield* readText(userConfig)
        const listening: Array<string> = []
        const lines: Array<FlareRunner.LogLine> = []

        const result = yield* FlareRunner.run({
          job: yield* JobPackage.make("fedkit-np", fixtures.files),
          sites,
          outputDir: path.join(root, "result"),
          timeout: "3 minutes",
          onLog: (line) =>
            Effect.sync(() => {
              lines.push(line)
              // Once every site is connected, look at what the deployment listens on.
              if (line.source === "session" && line.text.startsWith("sites connected")) {
                listening.push(...listeningAddresses(processesUsing(path.join(root, "poc")).map((found) => found.pid)))
              }
            })
        }).pipe(Effect.provide(Poc.layer({ workspaceRoot: path.join(root, "poc") }).pipe(Layer.provide(Installation))))

        assert.strictEqual(result.target, "poc")
        assert.strictEqual(result.status, "FINISHED:COMPLETED")
        assert.isTrue(yield* fs.exists(Option.getOrThrow(result.globalModel)))
        assert.strictEqual(result.metrics.rounds.length, fixtures.ROUNDS)

        // Every socket the deployment listened on was bound to loopback.
        assert.isNotEmpty(listening)
        for (const address of listening) assert.match(address, /^(127\.0\.0\.1|::1):\d+$/)

        // Each gateway's trainer got its own environment; the site logs were kept with the result.
        for (const site of sites) {
          const log = yield* readText(result.logs.sites[site.name]!)
          assert.include(log, `[fedkit-env] site=${site.name} dal_url=${site.env!["APH_API_DAL_URL"]} `)
          assert.include(log, `token_sha256=${sha256(Redacted.value(site.secrets!["APH_DAL_TOKEN"]!))}`)
        }
        // The tokens are in no log line and in no file of the result (job, server workspace, site logs).
        const resultFiles = yield* fs.readDirectory(result.workspace, { recursive: true })
        for (const site of sites) {
          const token = Redacted.value(site.secrets!["APH_DAL_TOKEN"]!)
          assert.isFalse(lines.some((line) => line.text.includes(token)))
          for (const file of resultFiles) {
            assert.notInclude(yield* readText(path.join(result.workspace, file)), token, file)
          }
        }

        // Nothing of the deployment is left: no process, no workspace, and the user's FLARE config is untouched.
        assert.deepStrictEqual(processesUsing(path.join(root, "poc")), [])
        assert.deepStrictEqual(yield* fs.readDirectory(path.join(root, "poc")), [])
        assert.deepStrictEqual(yield* leftInSharedStores(result.jobId), [])
        assert.strictEqual(yield* readText(userConfig), userConfigBefore)
      }),
    { timeout: 180_000 }
  )

  it.scoped(
    "stops at the first failing site, names it with its own reason, keeps its logs, leaves nothing running",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const root = yield* fs.makeTempDirectoryScoped()
        const lines: Array<FlareRunner.LogLine> = []
        const error = yield* FlareRunner.run({
          job: yield* JobPackage.make("fedkit-np", fixtures.files),
          sites: [sites[0]!, { ...sites[1]!, env: { ...sites[1]!.env, FEDKIT_TEST_CRASH: "1" } }],
          outputDir: path.join(root, "result"),
          timeout: "3 minutes",
          onLog: (line) => Effect.sync(() => void lines.push(line))
        }).pipe(
          Effect.provide(Poc.layer({ workspaceRoot: path.join(root, "poc") }).pipe(Layer.provide(Installation))),
          Effect.flip
        )
        assert.strictEqual(error._tag, "SiteFailed")
        const failed = error as FlareRunner.SiteFailed
        assert.strictEqual(failed.site, "gw-b")
        assert.strictEqual(failed.reason, "crashing on purpose with token <redacted>")
        assert.isDefined(failed.jobId)
        // The failing site's log was kept with the result, although the deployment is gone.
        const kept = yield* readText(path.join(root, "result", failed.jobId!, "sites", "gw-b", "log.txt"))
        assert.include(kept, "fedkit-site-failure: crashing on purpose")
        assert.deepStrictEqual(processesUsing(path.join(root, "poc")), [])
        for (const line of lines) assert.notInclude(line.text, "poc-token-of-gateway-b")
      }),
    { timeout: 180_000 }
  )
})
