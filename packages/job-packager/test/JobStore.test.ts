import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { createHash } from "node:crypto"
import { JobPackage, JobStore } from "../src/index.js"
import * as files from "../src/internal/files.js"
import * as fixtures from "./fixtures/numpyJob.js"

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex")

/** Node's writes, with `writeFile` (which `writeFileString` uses too) and `rename` replaced. */
const faultyFileSystem = (faults: {
  readonly writeFile?: (path: string, call: number) => Effect.Effect<void, files.FileError> | undefined
  readonly rename?: (from: string, call: number) => Effect.Effect<void, files.FileError> | undefined
}) => {
  let writes = 0
  let renames = 0
  return Layer.succeed(files.WritesRef, {
    writeFile: (path, data, mode) => faults.writeFile?.(path, ++writes) ?? files.nodeWrites.writeFile(path, data, mode),
    rename: (from, to) => faults.rename?.(from, ++renames) ?? files.nodeWrites.rename(from, to)
  })
}

const injected = (operation: string, reason: string) =>
  Effect.fail(new files.FileError({ operation, path: "(injected)", reason }))

const listing = (dir: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readDirectory(dir, { recursive: true })).pipe(
    Effect.map((entries) => entries.sort())
  )

layer(NodeContext.layer)("JobStore", (it) => {
  const pkg = JobPackage.make("fedkit-np", fixtures.files)

  it.scoped("writes the folder, the ZIP and a manifest that names both", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const out = yield* fs.makeTempDirectoryScoped()
      const job = yield* pkg
      const written = yield* JobStore.write(job, { outDir: out, zip: true })
      assert.deepStrictEqual(yield* listing(out), [
        "fedkit-np",
        "fedkit-np.manifest.json",
        "fedkit-np.zip",
        "fedkit-np/app",
        "fedkit-np/app/config",
        "fedkit-np/app/config/config_fed_client.json",
        "fedkit-np/app/config/config_fed_server.json",
        "fedkit-np/app/custom",
        "fedkit-np/app/custom/client.py",
        "fedkit-np/meta.json"
      ])
      for (const file of job.files) {
        assert.deepStrictEqual(yield* fs.readFile(path.join(written.folder, file.path)), file.data)
      }
      const manifest = JSON.parse(yield* fs.readFileString(written.manifest)) as JobPackage.Manifest
      assert.strictEqual(manifest.digest, job.digest)
      assert.strictEqual(manifest.zip?.sha256, sha256(yield* fs.readFile(written.zip!)))
      assert.strictEqual((yield* JobStore.read(written.folder)).digest, job.digest)
      assert.strictEqual((yield* JobStore.read(written.zip!)).digest, job.digest)
    }))

  it.scoped("gives byte-identical ZIPs across runs and across machines' timestamps, modes and caches", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const first = yield* fs.makeTempDirectoryScoped()
      const a = yield* JobStore.write(yield* pkg, { outDir: first, zip: true })

      // "Another machine": the job folder checked out with other times and modes, plus Python's bytecode cache.
      const copy = path.join(yield* fs.makeTempDirectoryScoped(), "fedkit-np")
      yield* fs.copy(a.folder, copy)
      const files = (yield* listing(copy)).map((entry) => path.join(copy, entry))
      for (const [index, file] of files.entries()) {
        yield* fs.utimes(file, new Date(Date.UTC(2001, 1, 3)), new Date(Date.UTC(2031 + index, 6, 9, 12, 34, 56)))
        const info = yield* fs.stat(file)
        yield* fs.chmod(file, info.type === "Directory" ? 0o700 : 0o600)
      }
      yield* fs.makeDirectory(path.join(copy, "app", "custom", "__pycache__"))
      yield* fs.writeFileString(
        path.join(copy, "app", "custom", "__pycache__", "client.cpython-311.pyc"),
        "\u0000bytecode"
      )

      const second = yield* fs.makeTempDirectoryScoped()
      const b = yield* JobStore.write(yield* JobStore.read(copy), { outDir: second, zip: true })
      assert.deepStrictEqual(yield* fs.readFile(b.zip!), yield* fs.readFile(a.zip!))
      assert.strictEqual(
        yield* fs.readFileString(b.manifest),
        yield* fs.readFileString(a.manifest)
      )
    }))

  it.scoped("refuses to overwrite, and replaces when asked", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const out = yield* fs.makeTempDirectoryScoped()
      yield* JobStore.write(yield* pkg, { outDir: out, zip: true })
      const refused = yield* JobStore.write(yield* pkg, { outDir: out }).pipe(Effect.flip)
      assert.match(refused.message, /already exists/)

      const changed = yield* JobPackage.make("fedkit-np", { ...fixtures.files, "app/custom/extra.py": "x = 1\n" })
      yield* JobStore.write(changed, { outDir: out, zip: true, replace: true })
      assert.isTrue(yield* fs.exists(path.join(out, "fedkit-np", "app", "custom", "extra.py")))
      assert.deepStrictEqual((yield* listing(out)).filter((entry) => !entry.startsWith("fedkit-np/")), [
        "fedkit-np",
        "fedkit-np.manifest.json",
        "fedkit-np.zip"
      ])
      assert.strictEqual((yield* JobStore.read(path.join(out, "fedkit-np.zip"))).digest, changed.digest)
    }))

  describe("atomicity", () => {
    it.scoped("a write that fails part-way leaves nothing behind", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const out = yield* fs.makeTempDirectoryScoped()
        const error = yield* JobStore.write(yield* pkg, { outDir: out, zip: true }).pipe(
          Effect.provide(faultyFileSystem({
            writeFile: (_, call) => call === 3 ? injected("writeFile", "ENOSPC: no space left on device") : undefined
          })),
          Effect.flip
        )
        assert.strictEqual(error._tag, "JobStoreError")
        assert.match(error.message, /ENOSPC/)
        assert.deepStrictEqual(yield* listing(out), [])
      }))

    it.scoped("a failure while moving outputs into place rolls back the ones already moved", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const out = yield* fs.makeTempDirectoryScoped()
        const error = yield* JobStore.write(yield* pkg, { outDir: out, zip: true }).pipe(
          Effect.provide(faultyFileSystem({
            rename: (from) => from.endsWith(".zip") ? injected("rename", "EXDEV: injected") : undefined
          })),
          Effect.flip
        )
        assert.match(error.message, /EXDEV/)
        assert.deepStrictEqual(yield* listing(out), [])
      }))

    it.scoped("a failed replacement keeps the previous outputs intact", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const out = yield* fs.makeTempDirectoryScoped()
        const original = yield* JobStore.write(yield* pkg, { outDir: out, zip: true })
        const before = yield* listing(out)
        const zipBefore = yield* fs.readFile(original.zip!)
        const changed = yield* JobPackage.make("fedkit-np", { ...fixtures.files, "app/custom/extra.py": "x = 1\n" })
        yield* JobStore.write(changed, { outDir: out, zip: true, replace: true }).pipe(
          Effect.provide(faultyFileSystem({
            rename: (from) => from.endsWith(".manifest.json") ? injected("rename", "EIO: injected") : undefined
          })),
          Effect.flip
        )
        assert.deepStrictEqual(yield* listing(out), before)
        assert.deepStrictEqual(yield* fs.readFile(original.zip!), zipBefore)
      }))

    it.scoped("an interrupted write leaves nothing behind", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const out = yield* fs.makeTempDirectoryScoped()
        const stuck = yield* Deferred.make<void>()
        const fiber = yield* JobStore.write(yield* pkg, { outDir: out, zip: true }).pipe(
          Effect.provide(faultyFileSystem({
            writeFile: (_, call) =>
              call === 4 ? Effect.zipRight(Deferred.succeed(stuck, undefined), Effect.never) : undefined
          })),
          Effect.fork
        )
        yield* Deferred.await(stuck)
        assert.isNotEmpty(yield* listing(out))
        yield* Fiber.interrupt(fiber)
        assert.deepStrictEqual(yield* listing(out), [])
      }))
  })

  describe("reading folders", () => {
    it.scoped("refuses symbolic links, names outside the layout and hostile names on disk", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const out = yield* fs.makeTempDirectoryScoped()
        const { folder } = yield* JobStore.write(yield* pkg, { outDir: out })
        yield* fs.symlink("/etc/passwd", path.join(folder, "app", "custom", "passwd"))
        yield* fs.writeFileString(path.join(folder, "README.txt"), "hi")
        yield* fs.writeFileString(path.join(folder, "app", "custom", "bad\nname.py"), "x")
        const error = yield* JobStore.read(folder).pipe(Effect.flip)
        assert.strictEqual(error._tag, "InvalidJob")
        const issues = (error as JobPackage.InvalidJob).issues.map((issue) => `${issue.file}: ${issue.message}`)
        assert.isTrue(
          issues.some((issue) => issue.startsWith("app/custom/passwd: is a symbolic link")),
          issues.join("\n")
        )
        assert.isTrue(issues.some((issue) => /^README\.txt: only meta\.json/.test(issue)), issues.join("\n"))
      }))

    it.scoped("reports a hostile file name in a job folder without reading the file", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const out = yield* fs.makeTempDirectoryScoped()
        const { folder } = yield* JobStore.write(yield* pkg, { outDir: out })
        yield* fs.writeFileString(path.join(folder, "app", "custom", "bad\nname.py"), "x")
        const error = yield* JobStore.read(folder).pipe(Effect.flip)
        assert.match(error.message, /"app\/custom\/bad\\nname\.py" \$: the path contains a control character/)
      }))

    it.scoped("adds custom code folders to a template's files, skipping bytecode caches", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const src = yield* fs.makeTempDirectoryScoped()
        yield* fs.makeDirectory(path.join(src, "lib", "__pycache__"), { recursive: true })
        yield* fs.writeFileString(path.join(src, "lib", "__init__.py"), "")
        yield* fs.writeFileString(path.join(src, "lib", "model.py"), "class Net: pass\n")
        yield* fs.writeFileString(path.join(src, "lib", "__pycache__", "model.cpython-311.pyc"), "junk")
        const job = yield* JobStore.pack({ name: "fedkit-np", files: fixtures.files, customFolders: { app: src } })
        assert.deepStrictEqual(job.files.map((file) => file.path), [
          "app/config/config_fed_client.json",
          "app/config/config_fed_server.json",
          "app/custom/client.py",
          "app/custom/lib/__init__.py",
          "app/custom/lib/model.py",
          "meta.json"
        ])
        const clash = yield* JobStore.pack({
          name: "fedkit-np",
          files: { ...fixtures.files, "app/custom/lib/model.py": "other" },
          customFolders: { app: src }
        }).pipe(Effect.flip)
        assert.match(clash.message, /both in the file map and in the app's custom folder/)
      }))
  })
})
