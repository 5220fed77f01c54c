import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestServices from "effect/TestServices"
import { vi } from "vitest"
import * as Cli from "../src/Cli.js"
import { FlareInstallation, JobPackage, JobStore } from "../src/index.js"
import * as fixtures from "./fixtures/numpyJob.js"
import { processesUsing } from "./support/processes.js"

/** Runs `fedkit-job …` in-process and returns what it printed on stdout. */
const fedkitJob = (...args: ReadonlyArray<string>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => vi.spyOn(console, "log").mockImplementation(() => {})),
    (spy) => Effect.map(Cli.run(["node", "fedkit-job", ...args]), () => spy.mock.calls.map((call) => call.join(" "))),
    (spy) => Effect.sync(() => spy.mockRestore())
  )

layer(NodeContext.layer)("fedkit-job", (it) => {
  it.scoped("pack writes the same reproducible ZIP from a file map and from the job folder", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped()
      const filesJson = path.join(dir, "files.json")
      yield* fs.writeFileString(filesJson, JSON.stringify(fixtures.files))

      const [printed] = yield* fedkitJob("pack", filesJson, "--out", path.join(dir, "a"), "--zip")
      const report = JSON.parse(printed!) as { job: string; digest: string; zip: string; folder: string }
      assert.strictEqual(report.job, "fedkit-np")
      assert.strictEqual(report.digest, (yield* JobPackage.make("fedkit-np", fixtures.files)).digest)

      yield* fedkitJob("pack", report.folder, "--out", path.join(dir, "b"), "--zip")
      assert.deepStrictEqual(
        yield* fs.readFile(path.join(dir, "b", "fedkit-np.zip")),
        yield* fs.readFile(report.zip)
      )
    }))

  it.scoped("pack refuses a hostile file map and writes nothing", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped()
      const filesJson = path.join(dir, "files.json")
      yield* fs.writeFileString(
        filesJson,
        JSON.stringify({ ...fixtures.files, "app/custom/../../../x.sh": "rm -rf ~" })
      )
      const error = yield* fedkitJob("pack", filesJson, "--out", path.join(dir, "out"), "--zip").pipe(Effect.flip)
      assert.match(String(error), /climbs out/)
      assert.isFalse(yield* fs.exists(path.join(dir, "out")))
    }))

  it.scoped("run names a secret variable missing from its environment, before starting FLARE", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped()
      const sitesJson = path.join(dir, "sites.json")
      yield* fs.writeFileString(
        sitesJson,
        JSON.stringify({ "gw-a": { secretEnv: { APH_DAL_TOKEN: "FEDKIT_NO_SUCH_VAR" } } })
      )
      const error = yield* fedkitJob("run", dir, "--target", "simulator", "--sites", sitesJson).pipe(Effect.flip)
      assert.match(String(error), /site gw-a: the secret's variable FEDKIT_NO_SUCH_VAR is not set/)
    }))

  it.scoped("pack adds --custom code to a job folder: the same package as from the file map with the code in it", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped()
      const { "app/custom/client.py": trainer, ...configs } = fixtures.files
      // A rendered job folder without code, and the trainer's code in a folder of its own.
      yield* JobStore.writeFolder(yield* JobPackage.make("fedkit-np", configs), path.join(dir, "rendered", "fedkit-np"))
      yield* fs.makeDirectory(path.join(dir, "trainer"))
      yield* fs.writeFileString(path.join(dir, "trainer", "client.py"), trainer as string)

      const [printed] = yield* fedkitJob(
        "pack",
        path.join(dir, "rendered", "fedkit-np"),
        "--custom",
        `app=${path.join(dir, "trainer")}`,
        "--out",
        path.join(dir, "out")
      )
      const report = JSON.parse(printed!) as { job: string; digest: string }
      assert.strictEqual(report.job, "fedkit-np")
      assert.strictEqual(report.digest, (yield* JobPackage.make("fedkit-np", fixtures.files)).digest)
    }))

  it.scoped("finds a project's .venv-flare from a folder inside the project", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const root = yield* fs.makeTempDirectoryScoped()
      yield* fs.makeDirectory(path.join(root, ".venv-flare", "bin"), { recursive: true })
      yield* fs.writeFileString(path.join(root, ".venv-flare", "bin", "nvflare"), "#!/bin/sh\n")
      yield* fs.makeDirectory(path.join(root, "apps", "model"), { recursive: true })
      assert.deepStrictEqual(
        yield* FlareInstallation.findProjectVenv(path.join(root, "apps", "model")),
        Option.some(path.join(root, ".venv-flare"))
      )
      assert.deepStrictEqual(yield* FlareInstallation.findProjectVenv(path.join(root, "..")), Option.none())
    }))

  it.scoped(
    "run --json names the failing site and its reason on stdout, with the project's .venv-flare found by itself",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const dir = yield* fs.makeTempDirectoryScoped()
        const job = yield* JobStore.writeFolder(yield* JobPackage.make("fedkit-np", fixtures.files), `${dir}/fedkit-np`)
        const sitesJson = path.join(dir, "sites.json")
        yield* fs.writeFileString(
          sitesJson,
          JSON.stringify({ "gw-a": {}, "gw-b": { env: { FEDKIT_TEST_CRASH: "1" } } })
        )
        const printed: Array<string> = []
        const error = yield* Effect.acquireUseRelease(
          Effect.sync(() => vi.spyOn(console, "log").mockImplementation((line) => void printed.push(String(line)))),
          // The live clock: the run follows FLARE's logs on a timer.
          () =>
            TestServices.provideLive(Cli.run([
              "node",
              "fedkit-job",
              "run",
              job,
              "--target",
              "simulator",
              "--sites",
              sitesJson,
              "--out",
              path.join(dir, "run"),
              "--quiet",
              "--json"
            ])).pipe(Effect.flip),
          (spy) => Effect.sync(() => spy.mockRestore())
        )
        assert.match(String(error), /site gw-b failed: crashing on purpose with token -/)
        const report = JSON.parse(printed.at(-1)!) as { error: Record<string, string> }
        assert.strictEqual(report.error["_tag"], "SiteFailed")
        assert.strictEqual(report.error["site"], "gw-b")
        assert.strictEqual(report.error["reason"], "crashing on purpose with token -")
        assert.match(report.error["message"]!, /^site gw-b failed: crashing on purpose with token -; /)
      }),
    { timeout: 120_000 }
  )

  it.scoped(
    "deploy starts a provisioned deployment, prints its admin kit, and shuts it all down when interrupted",
    () =>
      TestServices.provideLive(Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const root = yield* fs.makeTempDirectoryScoped()
        const printed: Array<string> = []
        const spy = yield* Effect.acquireRelease(
          Effect.sync(() => vi.spyOn(console, "log").mockImplementation((line) => void printed.push(String(line)))),
          (spy) => Effect.sync(() => spy.mockRestore())
        )
        const fiber = yield* Effect.fork(
          Cli.run(["node", "fedkit-job", "deploy", "--site", "gw-a", "--dir", root, "--quiet"])
        )
        while (printed.length === 0) yield* Effect.sleep("200 millis")
        const deployment = JSON.parse(printed[0]!) as { adminKit: string; username: string; sites: Array<string> }
        assert.deepStrictEqual(deployment.sites, ["gw-a"])
        assert.strictEqual(deployment.username, "admin@fedkit.local")
        assert.isTrue(yield* fs.exists(path.join(deployment.adminKit, "startup", "fed_admin.json")))
        assert.isNotEmpty(processesUsing(root))
        yield* Fiber.interrupt(fiber)
        spy.mockRestore()
        assert.deepStrictEqual(processesUsing(root), [])
        assert.deepStrictEqual(yield* fs.readDirectory(root), [])
      })),
    { timeout: 120_000 }
  )
})
