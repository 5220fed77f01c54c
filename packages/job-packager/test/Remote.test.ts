import { Command, FileSystem, Path } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { Deployment, FlareInstallation, FlareRunner, JobPackage, Remote } from "../src/index.js"
import * as fixtures from "./fixtures/numpyJob.js"
import { Installation, leftInSharedStores } from "./support/flare.js"
import { processesUsing } from "./support/processes.js"

/** Provisions (but does not start) a one-site POC project, for an admin startup kit that points at no server. */
const provisionKit = (root: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const installation = yield* FlareInstallation.FlareInstallation
    const project = path.join(root, "project.yml")
    yield* fs.makeDirectory(path.join(root, "home"))
    yield* fs.writeFileString(
      project,
      [
        "api_version: 3",
        "name: unreachable",
        "participants:",
        "  - {name: localhost, type: server, org: fedkit, fed_learn_port: 9, admin_port: 9}",
        "  - {name: gw-a, type: client, org: fedkit}",
        "  - {name: admin@fedkit.local, type: admin, org: fedkit, role: project_admin}",
        "builders:",
        "  - {path: nvflare.lighter.impl.workspace.WorkspaceBuilder, args: {template_file: [master_template.yml]}}",
        "  - {path: nvflare.lighter.impl.static_file.StaticFileBuilder, args: {config_folder: config}}",
        "  - path: nvflare.lighter.impl.cert.CertBuilder",
        "  - path: nvflare.lighter.impl.signature.SignatureBuilder",
        ""
      ].join("\n")
    )
    yield* Command.make(installation.nvflare, "poc", "prepare", "-i", project, "--force").pipe(
      Command.env({ HOME: path.join(root, "home"), NVFLARE_POC_WORKSPACE: path.join(root, "ws") }),
      Command.exitCode
    )
    return path.join(root, "ws", "unreachable", "prod_00", "admin@fedkit.local")
  })

layer(Installation, { excludeTestServices: true, timeout: 60_000 })("Remote", (it) => {
  it.scoped("fails with a typed error, within its timeout, when the server cannot be reached", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const kit = yield* provisionKit(yield* fs.makeTempDirectoryScoped())
      // Results would go to a new temporary folder; one left empty by a failed run must not be left behind.
      const tmp = yield* fs.makeTempDirectoryScoped()
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          const previous = process.env["TMPDIR"]
          process.env["TMPDIR"] = tmp
          return previous
        }),
        (previous) =>
          Effect.sync(() =>
            previous === undefined ? delete process.env["TMPDIR"] : void (process.env["TMPDIR"] = previous)
          )
      )
      const lines: Array<string> = []
      const error = yield* FlareRunner.run({
        job: yield* JobPackage.make("fedkit-np", fixtures.files),
        sites: [],
        timeout: "4 seconds",
        onLog: (line) => Effect.sync(() => void lines.push(line.text))
      }).pipe(
        Effect.provide(
          Remote.layer({ startupKit: kit, username: "admin@fedkit.local" }).pipe(Layer.provide(Installation))
        ),
        Effect.flip
      )
      assert.strictEqual(error._tag, "FlareCommandFailed")
      assert.deepStrictEqual(yield* fs.readDirectory(tmp), [])
      assert.match(
        error.message,
        /^FLARE remote: log in with the admin startup kit failed \(exit 2\): could not log in as admin@fedkit\.local/
      )
    }))

  it.scoped("refuses site variables and folders that are not admin startup kits", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const job = yield* JobPackage.make("fedkit-np", fixtures.files)
      const notAKit = yield* fs.makeTempDirectoryScoped()
      const runner = Remote.layer({ startupKit: notAKit, username: "admin@example.org" }).pipe(
        Layer.provide(Installation)
      )
      const withEnv = yield* FlareRunner.run({
        job,
        sites: [{ name: "gw-a", secrets: { APH_DAL_TOKEN: Redacted.make("x") } }]
      }).pipe(Effect.provide(runner), Effect.flip)
      assert.match(
        withEnv.message,
        /site gw-a has environment variables, but a remote deployment's sites have their own/
      )
      const noKit = yield* FlareRunner.run({ job, sites: [] }).pipe(Effect.provide(runner), Effect.flip)
      assert.match(noKit.message, /is not an admin startup kit/)
    }))

  it.scoped(
    "runs a job on a provisioned deployment (server, two sites, an admin): results, site logs, metrics; nothing left",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const root = yield* fs.makeTempDirectoryScoped()
        const lines: Array<FlareRunner.LogLine> = []
        const result = yield* Effect.scoped(Effect.gen(function*() {
          const deployment = yield* Deployment.start({
            sites: [
              { name: "gw-a", env: { APH_API_DAL_URL: "http://dal-a.local" } },
              { name: "gw-b", env: { APH_API_DAL_URL: "http://dal-b.local" } }
            ],
            directory: root
          })
          return yield* FlareRunner.run({
            job: yield* JobPackage.make("fedkit-np", fixtures.files),
            sites: [{ name: "gw-a" }, { name: "gw-b" }],
            outputDir: path.join(root, "result"),
            timeout: "3 minutes",
            onLog: (line) => Effect.sync(() => void lines.push(line))
          }).pipe(
            Effect.provide(
              Remote.layer({ startupKit: deployment.adminKit, username: deployment.username }).pipe(
                Layer.provide(Installation)
              )
            )
          )
        }))
        assert.strictEqual(result.status, "FINISHED:COMPLETED")
        assert.isTrue(yield* fs.exists(Option.getOrThrow(result.globalModel)))
        assert.strictEqual(result.metrics.rounds.length, fixtures.ROUNDS)
        // Each site's own log came back through the server, with what its trainer saw of its environment.
        assert.deepStrictEqual(Object.keys(result.logs.sites).sort(), ["gw-a", "gw-b"])
        for (const site of ["gw-a", "gw-b"]) {
          assert.include(
            yield* fs.readFileString(result.logs.sites[site]!),
            `[fedkit-env] site=${site} dal_url=http://dal-`
          )
        }
        assert.isTrue(lines.some((line) => line.source === "gw-a" && line.text.includes("[fedkit-env] site=gw-a")))
        // Shut down through FLARE's API: no process of the deployment is left. Its job store was its own: nothing of
        // the job is in FLARE's machine-wide default stores, where any other server would have run it too.
        assert.deepStrictEqual(processesUsing(root), [])
        assert.deepStrictEqual(yield* leftInSharedStores(result.jobId), [])
      }),
    { timeout: 240_000 }
  )
})
