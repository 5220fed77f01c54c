import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { bin, type Cli, spawnCli } from "./support/cli.js"
import { header, json, request } from "./support/http.js"

const token = "cli-secret-token-7c1d"

/** Sends a signal and waits for the exit code. */
const stop = (cli: Cli, signal: NodeJS.Signals) =>
  Effect.async<number | null>((resume) => {
    cli.child.once("exit", (code) => resume(Effect.succeed(code)))
    cli.child.kill(signal)
  })

const runToExit = (args: ReadonlyArray<string>) =>
  Effect.async<{ code: number | null; stdout: string; stderr: string }>((resume) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
  })

const fixture = Effect.acquireRelease(
  Effect.promise(async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "fedkit-dal-cli-"))
    const root = path.join(dir, "root")
    await fs.mkdir(path.join(root, "bucket", "folder"), { recursive: true })
    await fs.writeFile(path.join(root, "bucket", "folder", "a.csv"), "a")
    await fs.writeFile(path.join(root, "bucket", "folder", "b.csv"), "b")
    const write = (name: string, value: unknown) => fs.writeFile(path.join(dir, name), JSON.stringify(value))
    await write("tokens.json", {
      tokens: [{ name: "gateway-1", token, prefixes: ["s3://bucket/"], derived: true }]
    })
    await write("policies.json", { policies: { "s3://bucket/folder/": { permissions: { explore: true }, x: 1 } } })
    await write("faults.json", {
      faults: [{ key: { regex: "a\\.csv$" }, fault: { _tag: "Status", status: 503, retryAfter: "2" } }]
    })
    await write("bad-tokens.json", { tokens: [{ name: "gateway-1", token, prefixes: ["bucket/"] }] })
    return { dir, root, file: (name: string) => path.join(dir, name) }
  }),
  ({ dir }) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

describe("fedkit-dal-server CLI", () => {
  it.scopedLive("prints its URL first, serves with tokens, policies, faults and paging, logs JSON without the token", () =>
    Effect.gen(function*() {
      const { file, root } = yield* fixture
      const cli = yield* spawnCli([
        "--root",
        root,
        "--port",
        "0",
        "--tokens",
        file("tokens.json"),
        "--policies",
        file("policies.json"),
        "--faults",
        file("faults.json"),
        "--page-size",
        "1",
        "--derived-dir",
        file("derived")
      ])
      assert.match(cli.url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
      const auth = { authorization: `Bearer ${token}` }
      assert.strictEqual((yield* request(cli.url, "/datasets/s3://bucket/folder/a.csv")).status, 401)
      const faulted = yield* request(cli.url, "/datasets/s3://bucket/folder/a.csv", { headers: auth })
      assert.strictEqual(faulted.status, 503)
      assert.strictEqual(faulted.headers["retry-after"], "2")
      const a = yield* request(cli.url, "/datasets/s3://bucket/folder/a.csv", { headers: auth })
      assert.strictEqual(a.body.toString(), "a")
      const page = yield* request(cli.url, "/datasets/s3://bucket/folder/", { headers: auth })
      assert.deepStrictEqual(json(page), ["s3://bucket/folder/a.csv"])
      assert.match(header(page, "link") ?? "", /^s3:\/\/bucket\/folder\/\?cursor=/)
      const policy = yield* request(cli.url, "/policies/s3://bucket/folder/b.csv", { headers: auth })
      assert.deepStrictEqual(json(policy), { permissions: { explore: true }, x: 1 })
      const upload = yield* request(cli.url, "/dataset/out/r.txt", {
        method: "PUT",
        headers: auth,
        body: new TextEncoder().encode("r")
      })
      assert.strictEqual(upload.status, 201)
      assert.strictEqual(yield* Effect.promise(() => fs.readFile(file("derived/out/r.txt"), "utf8")), "r")

      assert.strictEqual(yield* stop(cli, "SIGTERM"), 130)
      assert.strictEqual(cli.stdout(), `${cli.url}\n`)
      const lines = cli.stderr().trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>)
      const requests = lines.filter((line) => line.message === "request")
      assert.strictEqual(requests.length, 6)
      assert.deepInclude(requests[1], { method: "GET", status: 503, fault: "Status", grant: "gateway-1" })
      assert.deepInclude(requests[1], { key: "s3://bucket/folder/a.csv", path: "/datasets/s3://bucket/folder/a.csv" })
      for (const line of lines) assert.isString(line.level)
      assert.strictEqual(lines[lines.length - 1]?.message, "stopped")
      assert.notInclude(cli.stderr(), token)
      assert.notInclude(cli.stderr().toLowerCase(), "authorization")
    }))

  it.scopedLive("without --tokens it serves everyone and says so loudly; --latency-ms delays answers; limits apply; SIGINT stops it", () =>
    Effect.gen(function*() {
      const { root } = yield* fixture
      const cli = yield* spawnCli([
        "--root",
        root,
        "--latency-ms",
        "300",
        "--max-upload-bytes",
        "10",
        "--max-transfers",
        "4",
        "--headers-timeout-ms",
        "5000",
        "--idle-timeout-ms",
        "5000"
      ])
      const started = performance.now()
      const reply = yield* request(cli.url, "/datasets/s3://bucket/folder/b.csv")
      assert.isAtLeast(performance.now() - started, 300)
      assert.strictEqual(reply.body.toString(), "b")
      const upload = yield* request(cli.url, "/dataset/out/big.bin", { method: "PUT", body: new Uint8Array(11) })
      assert.strictEqual(upload.status, 413)
      assert.strictEqual(yield* stop(cli, "SIGINT"), 130)
      const warning = cli.stderr().split("\n").find((line) => line.includes("AUTHENTICATION DISABLED"))
      assert.include(JSON.parse(warning ?? "{}"), { level: "WARN" })
    }))

  it.scopedLive("an invalid token file fails at start with exit code 1, naming the file but not the token", () =>
    Effect.gen(function*() {
      const { file, root } = yield* fixture
      const result = yield* runToExit(["--root", root, "--tokens", file("bad-tokens.json")])
      assert.strictEqual(result.code, 1)
      assert.strictEqual(result.stdout, "")
      assert.include(result.stderr, file("bad-tokens.json"))
      assert.include(result.stderr, "tokens.0.prefixes.0")
      assert.notInclude(result.stderr, token)
    }))
})
