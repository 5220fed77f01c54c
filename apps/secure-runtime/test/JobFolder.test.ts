import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { JobPackage } from "@fedkit/job-packager"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import { createHash, randomUUID } from "node:crypto"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import * as Inputs from "../src/Inputs.js"
import * as JobFolder from "../src/JobFolder.js"
import * as Render from "../src/Render.js"
import * as RuntimeModule from "../src/RuntimeModule.js"
import { DATASET2GW, GOOD_MODULE, VALID } from "./support/fixtures.js"

/** The files of a job the reference runtime renders. */
const FILES: Readonly<Record<string, string>> = await Effect.runPromise(
  Effect.gen(function*() {
    const { runtime } = yield* RuntimeModule.load(GOOD_MODULE)
    const dataset2gw = yield* Inputs.dataset2gw(JSON.stringify(DATASET2GW))
    const pkg = yield* Render.render(runtime, JSON.stringify(VALID), dataset2gw, "job")
    return Object.fromEntries(pkg.files.map((file) => [file.path, Buffer.from(file.data).toString("utf8")]))
  }).pipe(Effect.provide(NodeContext.layer), Effect.orDie)
)

const jobPackage = (name: string) =>
  JobPackage.make(name, FILES).pipe(Effect.orDieWith((invalid) => new Error(invalid.message)))

const MANIFEST = ".manifest.json"
const isManifest = (name: string) => !name.startsWith(".") && name.endsWith(MANIFEST)
const idOf = (manifest: string) => manifest.slice(0, -MANIFEST.length)

const freshDir = () => mkdtempSync(join(tmpdir(), "fedkit-sr-jobfolder-"))

/** Whether every file the manifest lists is in the job folder with its size and SHA-256, and nothing else. */
const completeJob = (jobsDir: string, id: string): boolean => {
  const manifest = JSON.parse(readFileSync(join(jobsDir, `${id}${MANIFEST}`), "utf8")) as JobPackage.Manifest
  const listed = readdirSync(join(jobsDir, id), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(join(jobsDir, id).length + 1))
    .sort()
  return manifest.job === id &&
    JSON.stringify(listed) === JSON.stringify(manifest.files.map((file) => file.path).sort()) &&
    manifest.files.every((file) => {
      const data = readFileSync(join(jobsDir, id, file.path))
      return data.length === file.size && createHash("sha256").update(data).digest("hex") === file.sha256
    })
}

describe("JobFolder", () => {
  it.effect("writes the job folder and, last, its manifest, exactly as JobPackage writes it; no stage is left", () =>
    Effect.gen(function*() {
      const jobsDir = freshDir()
      const id = randomUUID()
      const pkg = yield* jobPackage(id)
      assert.strictEqual(yield* JobFolder.write(pkg, jobsDir), join(jobsDir, id))
      assert.deepStrictEqual(readdirSync(jobsDir).sort(), [id, `${id}.manifest.json`])
      assert.strictEqual(
        readFileSync(join(jobsDir, `${id}.manifest.json`), "utf8"),
        JobPackage.manifestJson(JobPackage.manifest(pkg))
      )
      assert.isTrue(completeJob(jobsDir, id))
      for (const [path, text] of Object.entries(FILES)) {
        assert.strictEqual(readFileSync(join(jobsDir, id, path), "utf8"), text)
      }
    }))

  it.effect("refuses a job that exists, or a folder in the way, leaving both as they were and no stage behind", () =>
    Effect.gen(function*() {
      const jobsDir = freshDir()
      const id = randomUUID()
      const pkg = yield* jobPackage(id)
      yield* JobFolder.write(pkg, jobsDir)
      const again = yield* Effect.flip(JobFolder.write(pkg, jobsDir))
      assert.strictEqual(again.reason, "already exists")
      assert.isTrue(completeJob(jobsDir, id))

      const blocked = randomUUID()
      mkdirSync(join(jobsDir, blocked))
      writeFileSync(join(jobsDir, blocked, "keep.txt"), "not a job")
      const refused = yield* Effect.flip(JobFolder.write(yield* jobPackage(blocked), jobsDir))
      assert.strictEqual(refused.reason, "already exists")
      assert.deepStrictEqual(readdirSync(join(jobsDir, blocked)), ["keep.txt"])
      assert.deepStrictEqual(readdirSync(jobsDir).sort(), [id, `${id}.manifest.json`, blocked].sort())
    }))

  it.effect("sweeps stages, staged manifests and job folders without a manifest, and keeps complete jobs", () =>
    Effect.gen(function*() {
      const jobsDir = freshDir()
      const kept = randomUUID()
      yield* JobFolder.write(yield* jobPackage(kept), jobsDir)
      const unfinished = randomUUID()
      mkdirSync(join(jobsDir, `.${unfinished}.staging`, "app"), { recursive: true })
      writeFileSync(join(jobsDir, `.${unfinished}.staging.manifest.json`), "{")
      mkdirSync(join(jobsDir, randomUUID()))
      const removed = yield* JobFolder.sweep(jobsDir)
      assert.strictEqual(removed.length, 3)
      assert.deepStrictEqual(readdirSync(jobsDir).sort(), [kept, `${kept}.manifest.json`])
    }))

  it.live(
    "after writers are killed (SIGKILL) mid-stream, every job with a manifest is complete and a sweep leaves only those",
    () =>
      Effect.gen(function*() {
        const jobsDir = freshDir()
        const compiled = join(inject("compiledDir"), "dist", "JobFolder.js")
        const manifests = () => readdirSync(jobsDir).filter((name) => isManifest(name))
        // Each writer writes one package under new names until killed: nearly all of its time is spent in writes.
        for (let round = 1; round <= 5; round++) {
          const writer = spawn(process.execPath, [
            "--input-type=module",
            "-e",
            `import { JobPackage } from "@fedkit/job-packager"
             import { Effect } from "effect"
             import { randomUUID } from "node:crypto"
             const JobFolder = await import(${JSON.stringify(compiled)})
             const pkg = Effect.runSync(JobPackage.make("job", ${JSON.stringify(FILES)}))
             for (;;) Effect.runSync(JobFolder.write({ ...pkg, name: randomUUID() }, ${JSON.stringify(jobsDir)}))`
          ], { cwd: inject("compiledDir"), stdio: "ignore" })
          const exited = new Promise((resolve) => writer.once("exit", resolve))
          yield* Effect.promise(async () => {
            while (manifests().length < round * 100) await new Promise((resolve) => setTimeout(resolve, 5))
          }).pipe(Effect.timeout("60 seconds"))
          writer.kill("SIGKILL")
          yield* Effect.promise(() => exited)
          for (const manifest of manifests()) assert.isTrue(completeJob(jobsDir, idOf(manifest)), manifest)
        }
        const complete = manifests()
        yield* JobFolder.sweep(jobsDir)
        assert.deepStrictEqual(readdirSync(jobsDir).sort(), [...complete.map(idOf), ...complete].sort())
      }),
    { timeout: 120_000 }
  )
})
