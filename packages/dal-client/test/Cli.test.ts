import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"
import { cliDir } from "./support/globalSetup.js"
import {
  bytes,
  filesBelow,
  hostileServer,
  makeZip,
  readText,
  sendJson,
  startServer,
  tempDir,
  TOKEN
} from "./support/index.js"

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Everything any run printed, to check at the end that the token never appeared. */
const printed: Array<string> = []

const fedkitDal = (args: ReadonlyArray<string>, env: Record<string, string>, nodeFlags: ReadonlyArray<string> = []) =>
  Effect.async<Run>((resume) => {
    const child = spawn(process.execPath, [...nodeFlags, NodePath.join(cliDir, "bin.js"), ...args], {
      env: { PATH: process.env["PATH"] ?? "", APH_RETRY_BASE_DELAY: "0.005", APH_RETRY_MAX_DELAY: "0.04", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => void (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => void (stderr += d.toString()))
    child.on("close", (code) => {
      printed.push(stdout, stderr)
      resume(Effect.succeed({ code, stdout, stderr }))
    })
    return Effect.sync(() => child.kill())
  })

const oneLineError = (run: Run): string => {
  const lines = run.stderr.trim().split("\n")
  assert.strictEqual(lines.length, 1, run.stderr)
  assert.match(lines[0]!, /^fedkit-dal: /)
  return lines[0]!
}

const files = {
  "s3://bkt/ds/a.txt": "alpha",
  "s3://bkt/ds/sub/b.bin": bytes(200_000),
  "s3://bkt/single/weights.bin": bytes(1234),
  "s3://bkt/flaky/f.bin": "never served",
  "s3://bkt/stall/s.bin": "never served",
  "s3://bkt/bomb.zip": makeZip([{ name: "zeros.bin", data: new Uint8Array(8 * 1024 * 1024) }])
}
const data = JSON.stringify({
  ds: "s3://bkt/ds/",
  single: "s3://bkt/single/weights.bin",
  flaky: "s3://bkt/flaky/f.bin",
  stall: "s3://bkt/stall/s.bin",
  bomb: "s3://bkt/bomb.zip",
  gone: "s3://bkt/missing.bin"
})

const serve = startServer({
  files,
  policies: {
    "s3://bkt/ds/": { permissions: { explore: true, restrict_functions: true, allowed_function_names: ["f"] } }
  },
  faults: [
    { key: "s3://bkt/flaky/", times: Infinity, fault: { _tag: "Status", status: 503 } },
    { key: "s3://bkt/stall/", times: Infinity, fault: { _tag: "StallHeaders", millis: 5_000 } }
  ]
}).pipe(Effect.map((server) => ({
  server,
  env: { APH_API_DAL_URL: server.url, APH_DAL_TOKEN: TOKEN, APH_DATA: data }
})))

describe("fedkit-dal CLI (spawned)", () => {
  it.scopedLive("ls, download, policy and put; results on stdout, progress on stderr", () =>
    Effect.gen(function*() {
      const { env, server } = yield* serve
      const ls = yield* fedkitDal(["ls", "ds"], env)
      assert.strictEqual(ls.code, 0)
      assert.strictEqual(ls.stdout, "s3://bkt/ds/a.txt\ns3://bkt/ds/sub/b.bin\n")
      const lsJson = JSON.parse((yield* fedkitDal(["ls", "ds", "--json"], env)).stdout)
      assert.deepStrictEqual(lsJson.entries[1], { key: "s3://bkt/ds/sub/b.bin", path: "sub/b.bin", directory: false })

      const dest = NodePath.join(yield* tempDir, "out")
      const dryRun = yield* fedkitDal(["download", "ds", dest, "--dry-run"], env)
      assert.strictEqual(dryRun.code, 0, dryRun.stderr)
      assert.match(
        dryRun.stdout,
        /^2 file\(s\) and 0 listed folder\(s\) would be downloaded into .*out; nothing was written/
      )
      const plan = JSON.parse((yield* fedkitDal(["download", "ds", dest, "--dry-run", "--json"], env)).stdout)
      assert.deepStrictEqual(plan, {
        datasetId: "ds",
        key: "s3://bkt/ds/",
        directory: true,
        files: 2,
        folders: 0,
        dest,
        dryRun: true
      })
      assert.isFalse(yield* Effect.promise(() => Fs.stat(dest).then(() => true, () => false)), "nothing written")

      const download = yield* fedkitDal(["download", "ds", dest, "--concurrency", "2"], env)
      assert.strictEqual(download.code, 0, download.stderr)
      assert.match(download.stdout, /^2 file\(s\), 195\.3 KiB in .*: 2 downloaded, 0 resumed, 0 already complete\n$/)
      assert.match(download.stderr, /^progress: 2\/2 files, 195\.3 KiB\/195\.3 KiB 100%/m)
      assert.deepStrictEqual(yield* filesBelow(dest), ["a.txt", "sub/b.bin"])

      const again = JSON.parse((yield* fedkitDal(["download", "ds", dest, "--json"], env)).stdout)
      assert.strictEqual(again.skipped, 2)
      assert.strictEqual(again.files, 2)
      assert.strictEqual(again.dest, dest)

      const single = yield* tempDir
      assert.strictEqual((yield* fedkitDal(["download", "single", single], env)).code, 0)
      assert.deepStrictEqual(yield* filesBelow(single), ["weights.bin"])

      const policy = yield* fedkitDal(["policy", "ds", "--json"], env)
      assert.deepStrictEqual(JSON.parse(policy.stdout), {
        permissions: { explore: true, restrict_functions: true, allowed_function_names: ["f"] }
      })

      const upload = NodePath.join(single, "result.csv")
      yield* Effect.promise(() => Fs.writeFile(upload, "x,y\n"))
      const put = yield* fedkitDal(["put", "derived_1", upload], env)
      assert.strictEqual(put.stdout, "uploaded result.csv (4 B) to derived dataset derived_1\n")
      assert.strictEqual(yield* readText(NodePath.join(server.root, "derived", "derived_1", "result.csv")), "x,y\n")
    }))

  it.scopedLive("extracts a zip with --extract, and refuses a zip bomb with exit code 5", () =>
    Effect.gen(function*() {
      const { env, server } = yield* serve
      const zip = makeZip([{ name: "inner/file.txt", data: Buffer.from("inside") }])
      yield* Effect.promise(() => Fs.writeFile(NodePath.join(server.root, "bkt", "data.zip"), zip))
      const dest = yield* tempDir
      const ok = yield* fedkitDal(["download", "z", dest, "--extract"], {
        ...env,
        APH_DATA: JSON.stringify({ z: "s3://bkt/data.zip" })
      })
      assert.strictEqual(ok.code, 0, ok.stderr)
      assert.strictEqual(yield* readText(NodePath.join(dest, "data", "inner", "file.txt")), "inside")
      const bomb = yield* fedkitDal(["download", "bomb", yield* tempDir, "--extract"], env)
      assert.strictEqual(bomb.code, 5)
      assert.include(oneLineError(bomb), "inflates more than 200 times its compressed size")
    }))

  it.scopedLive("exit codes: 2 usage/config, 3 auth, 4 not found, 5 unsafe path, 1 retries exhausted", () =>
    Effect.gen(function*() {
      const { env } = yield* serve
      const dest = yield* tempDir

      const usage = yield* fedkitDal(["download", "ds"], env)
      assert.strictEqual(usage.code, 2)
      const badConcurrency = yield* fedkitDal(["download", "ds", dest, "--concurrency", "0"], env)
      assert.strictEqual(badConcurrency.code, 2)
      assert.include(oneLineError(badConcurrency), "maxWorkers: must be an integer from 1 to 1024")
      const badData = yield* fedkitDal(["ls", "ds"], { ...env, APH_DATA: "[1,2]" })
      assert.strictEqual(badData.code, 2)
      assert.match(oneLineError(badData), /^fedkit-dal: invalid DAL settings: APH_DATA: /)
      const noUrl = yield* fedkitDal(["ls", "ds"], { APH_DAL_TOKEN: TOKEN, APH_DATA: data })
      assert.strictEqual(noUrl.code, 2)
      assert.strictEqual(oneLineError(noUrl), "fedkit-dal: invalid DAL settings: APH_API_DAL_URL: is not set")

      const auth = yield* fedkitDal(["ls", "ds"], { ...env, APH_DAL_TOKEN: "wrong-token" })
      assert.strictEqual(auth.code, 3)
      assert.strictEqual(
        oneLineError(auth),
        "fedkit-dal: list of dataset \"ds\", key \"s3://bkt/ds/\": the DAL rejected the token (HTTP 401); check APH_DAL_TOKEN"
      )

      const unknown = yield* fedkitDal(["download", "nope", dest], env)
      assert.strictEqual(unknown.code, 4)
      const gone = yield* fedkitDal(["download", "gone", dest], env)
      assert.strictEqual(gone.code, 4)
      assert.include(oneLineError(gone), "the DAL has no such key (HTTP 404)")

      const flaky = yield* fedkitDal(["download", "flaky", dest, "--retries", "2"], env)
      assert.strictEqual(flaky.code, 1)
      assert.include(oneLineError(flaky), "HTTP 503 after 3 attempts")

      const stall = yield* fedkitDal(["download", "stall", dest, "--timeout", "0.3", "--retries", "0"], env)
      assert.strictEqual(stall.code, 1)
      assert.include(oneLineError(stall), "no response headers within 300ms")

      const hostile = yield* hostileServer((_req, res) => sendJson(res, ["s3://h/ds/../../../tmp/x"]))
      const clean = yield* tempDir
      const unsafe = yield* fedkitDal(["download", "h", clean], {
        ...env,
        APH_API_DAL_URL: hostile.url,
        APH_DATA: JSON.stringify({ h: "s3://h/ds/" })
      })
      assert.strictEqual(unsafe.code, 5)
      assert.include(oneLineError(unsafe), "refused \"s3://h/ds/../../../tmp/x\"")
      assert.deepStrictEqual(yield* filesBelow(clean), [])
      assert.deepStrictEqual(yield* filesBelow(dest), [], "failed downloads leave nothing behind")
    }))

  it("never printed the token", () => {
    assert.isAbove(printed.length, 20)
    for (const output of printed) assert.notInclude(output, TOKEN)
  })
})

describe("fedkit-dal with a large listing (spawned)", () => {
  it.scopedLive(
    "plans a 300,000-entry dataset within a 40 MiB JavaScript heap, writing nothing",
    () =>
      Effect.gen(function*() {
        // Pages made on the fly: 30 of 10,000 keys, a folder entry first in each. Held as strings and objects (the
        // earlier design, ~275 bytes of heap per key), this listing ran out of a 40 MiB heap.
        const pages = 30
        const server = yield* hostileServer((req, res) => {
          const page = Number(new URL(req.url ?? "/", "http://x").searchParams.get("page") ?? 0)
          const folder = `s3://big/ds/part-${String(page).padStart(4, "0")}/`
          const keys = [folder]
          for (let i = 1; i < 10_000; i++) {
            keys.push(`${folder}sample-${String(page * 10_000 + i).padStart(8, "0")}.dat`)
          }
          const next = page + 1 < pages ? { link: `</datasets/s3://big/ds/?page=${page + 1}>; rel="next"` } : undefined
          sendJson(res, keys, next)
        })
        const sandbox = yield* tempDir
        const run = yield* fedkitDal(
          ["download", "big", NodePath.join(sandbox, "dest"), "--dry-run", "--json"],
          { APH_API_DAL_URL: server.url, APH_DAL_TOKEN: TOKEN, APH_DATA: JSON.stringify({ big: "s3://big/ds/" }) },
          ["--max-old-space-size=40"]
        )
        assert.strictEqual(run.code, 0, run.stderr)
        const plan = JSON.parse(run.stdout)
        assert.deepStrictEqual([plan.files, plan.folders], [pages * 9_999, pages])
        assert.strictEqual(server.requests.length, pages)
        assert.deepStrictEqual(yield* filesBelow(sandbox), [])
      }),
    120_000
  )
})
