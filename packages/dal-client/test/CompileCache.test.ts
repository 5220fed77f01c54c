// The installed `fedkit-dal` (bin/ launcher, dist/bin.cjs loader from tooling/build/binLoader.cjs) keeps V8's code
// cache in a folder only its user can write, and runs the same with a cache, without one, and with a bad one.
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { tempDir } from "./support/index.js"

const bin = fileURLToPath(new URL("../bin/fedkit-dal.cjs", import.meta.url))
const version = (JSON.parse(await Fs.readFile(new URL("../package.json", import.meta.url), "utf8")) as {
  readonly version: string
}).version

const runVersion = (env: Record<string, string>) =>
  Effect.promise(() =>
    new Promise<string>((resolve, reject) =>
      execFile(
        bin,
        ["--version"],
        { env: { ...process.env, ...env }, timeout: 60_000 },
        (error, stdout, stderr) =>
          error === null ? resolve(stdout.trim()) : reject(new Error(`${error.message}\n${stderr}`))
      )
    )
  )

const cacheFiles = (cacheHome: string) =>
  Effect.promise(() => Fs.readdir(NodePath.join(cacheHome, "fedkit", "v8")).catch(() => []))

const modeOf = (path: string) => Effect.promise(async () => (await Fs.stat(path)).mode & 0o777)

describe("fedkit-dal's code cache", () => {
  it.scopedLive("is written once, private to the user, and then used", () =>
    Effect.gen(function*() {
      const cacheHome = yield* tempDir
      const env = { XDG_CACHE_HOME: cacheHome, NODE_DISABLE_COMPILE_CACHE: "" }
      assert.strictEqual(yield* runVersion(env), version)
      const files = yield* cacheFiles(cacheHome)
      assert.strictEqual(files.length, 1)
      assert.match(files[0] ?? "", /^[0-9a-f]{24}-nodev\d+\.\d+\.\d+-[a-z0-9]+-[0-9a-f]+\.v8cache$/)
      const dir = NodePath.join(cacheHome, "fedkit", "v8")
      const file = NodePath.join(dir, files[0] ?? "")
      assert.strictEqual(yield* modeOf(dir), 0o700)
      assert.strictEqual(yield* modeOf(file), 0o600)
      const written = yield* Effect.promise(() => Fs.stat(file))
      assert.strictEqual(yield* runVersion(env), version)
      const after = yield* Effect.promise(() => Fs.stat(file))
      // accepted, so not written again
      assert.strictEqual(after.mtimeMs, written.mtimeMs)
      assert.deepStrictEqual(yield* cacheFiles(cacheHome), files)
    }))

  it.scopedLive("replaces a cache V8 cannot use, and still runs", () =>
    Effect.gen(function*() {
      const cacheHome = yield* tempDir
      const env = { XDG_CACHE_HOME: cacheHome, NODE_DISABLE_COMPILE_CACHE: "" }
      yield* runVersion(env)
      const [name] = yield* cacheFiles(cacheHome)
      const file = NodePath.join(cacheHome, "fedkit", "v8", name ?? "")
      const garbage = Buffer.alloc(4096, 0x5a)
      yield* Effect.promise(() => Fs.writeFile(file, garbage))
      assert.strictEqual(yield* runVersion(env), version)
      const replaced = yield* Effect.promise(() => Fs.readFile(file))
      assert.isFalse(replaced.equals(garbage))
      assert.isAbove(replaced.length, 100_000)
    }))

  it.scopedLive("is neither read nor written in a folder others can write, nor when turned off", () =>
    Effect.gen(function*() {
      const shared = yield* tempDir
      const dir = NodePath.join(shared, "fedkit", "v8")
      yield* Effect.promise(() => Fs.mkdir(dir, { recursive: true }))
      yield* Effect.promise(() => Fs.chmod(dir, 0o777))
      assert.strictEqual(yield* runVersion({ XDG_CACHE_HOME: shared, NODE_DISABLE_COMPILE_CACHE: "" }), version)
      assert.deepStrictEqual(yield* cacheFiles(shared), [])

      const off = yield* tempDir
      assert.strictEqual(yield* runVersion({ XDG_CACHE_HOME: off, NODE_DISABLE_COMPILE_CACHE: "1" }), version)
      assert.deepStrictEqual(yield* Effect.promise(() => Fs.readdir(off)), [])
    }))
})
