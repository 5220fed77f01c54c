/**
 * The platform's official Python DAL client, `apheris-utils` 0.39.1 (pinned in tooling/flare/requirements.lock,
 * installed in the project's FLARE environment), against a spawned `fedkit-dal-server` on loopback, with the
 * server's default settings (only the pagination case lowers the page size).
 */
import { assert, layer } from "@effect/vitest"
import { FlareToolchain } from "@fedkit/flare-toolchain"
import { FlareInstallation } from "@fedkit/job-packager"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { loggedRequests, spawnCli } from "./support/cli.js"
import { bytes } from "./support/http.js"

const driver = fileURLToPath(new URL("./support/official-client/driver.py", import.meta.url))
const token = "official-client-token-4b2e"
const otherToken = "official-client-other-77c1"

const files: Record<string, string | Uint8Array> = {
  "bkt/flat/a b.csv": "x,y\n1,2\n",
  "bkt/flat/ünïcødé 日本.txt": "non-ASCII name",
  "bkt/flat/empty.txt": "",
  "bkt/flat/big.bin": bytes(5 * 1024 * 1024),
  "bkt/nested/top.csv": "top",
  "bkt/nested/sub dir/x.csv": "x",
  "bkt/nested/sub dir/deeper/y.bin": bytes(70_000),
  "bkt/nested/ü/z.txt": "z",
  "bkt/single/model weights.bin": bytes(123_457),
  "bkt/flaky/f.csv": "eventually",
  "other/secret/s.csv": "not for gateway",
  "bkt/odd/hash #1.txt": "the official client sends # unencoded",
  ...Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`bkt/paged/part ${i}.csv`, `part ${i}`]))
}

const policies = {
  "s3://bkt/flat/": { permissions: { explore: true }, privacy: { dp: "none" } },
  "s3://bkt/flat/big.bin": { permissions: { explore: false }, note: "file beats folder" },
  "s3://bkt/nested/": { permissions: { explore: true, restrict_functions: true, allowed_function_names: ["mean"] } },
  "s3://bkt/": { permissions: { explore: false } }
}

const faults = [
  { key: "s3://bkt/flaky/", times: 1, fault: { _tag: "Status", status: 503 } },
  { key: "s3://bkt/flaky/f.csv", times: 1, fault: { _tag: "Status", status: 429, retryAfter: "1" } }
]

const datasets = {
  flat: "s3://bkt/flat/",
  nested: "s3://bkt/nested/",
  single: "s3://bkt/single/model weights.bin",
  big: "s3://bkt/flat/big.bin",
  paged: "s3://bkt/paged/",
  flaky: "s3://bkt/flaky/",
  odd: "s3://bkt/odd/",
  secret: "s3://other/secret/"
}

const sha256 = (content: string | Uint8Array) => createHash("sha256").update(content).digest("hex")

/** What the official client should write for a dataset: `<id>/<path below the dataset key>` → sha256. */
const expectedFiles = (id: keyof typeof datasets) => {
  const key = datasets[id]
  const prefix = key.slice("s3://".length)
  const entries = Object.entries(files).filter(([file]) =>
    key.endsWith("/") ? file.startsWith(prefix) : file === prefix
  )
  return Object.fromEntries(
    entries.map((
      [file, content]
    ) => [`${id}/${key.endsWith("/") ? file.slice(prefix.length) : path.basename(file)}`, sha256(content)])
  )
}

interface Servers {
  readonly python: string
  readonly dir: string
  readonly root: string
  /** Default settings, with tokens, policies and two one-shot faults on s3://bkt/flaky/. */
  readonly url: string
  /** The same data with `--page-size 2`. */
  readonly pagedUrl: string
  readonly log: () => ReadonlyArray<Record<string, unknown>>
}

class Official extends Context.Tag("test/Official")<Official, Servers>() {}

const OfficialLive = Layer.scoped(
  Official,
  Effect.gen(function*() {
    const { python } = yield* FlareInstallation.FlareInstallation
    const dir = yield* Effect.acquireRelease(
      Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "fedkit-official-client-"))),
      (d) => Effect.promise(() => fs.rm(d, { recursive: true, force: true }))
    )
    const root = path.join(dir, "root")
    yield* Effect.promise(async () => {
      for (const [file, content] of Object.entries(files)) {
        await fs.mkdir(path.dirname(path.join(root, file)), { recursive: true })
        await fs.writeFile(path.join(root, file), content)
      }
      const write = (name: string, value: unknown) => fs.writeFile(path.join(dir, name), JSON.stringify(value))
      await write("tokens.json", {
        tokens: [
          { name: "gateway", token, prefixes: ["s3://bkt/", "s3://derived/"], derived: true },
          { name: "other", token: otherToken, prefixes: ["s3://other/"] }
        ]
      })
      await write("policies.json", { policies })
      await write("faults.json", { faults })
    })
    const common = ["--root", root, "--tokens", path.join(dir, "tokens.json")]
    const server = yield* spawnCli([
      ...common,
      "--policies",
      path.join(dir, "policies.json"),
      "--faults",
      path.join(dir, "faults.json")
    ])
    const paged = yield* spawnCli([...common, "--page-size", "2"])
    return { python, dir, root, url: server.url, pagedUrl: paged.url, log: () => loggedRequests(server) }
  })
).pipe(Layer.provide(FlareToolchain.layer))

interface Step {
  readonly call: string
  readonly args?: Record<string, unknown>
  readonly env?: Record<string, string>
}

type Outcome =
  | { readonly ok: true; readonly result: unknown; readonly files: Record<string, string> | null }
  | { readonly ok: false; readonly error: string; readonly message: string }

/** Runs the official client's steps in one Python process, configured only through the APH_* environment. */
const official = (servers: Servers, steps: ReadonlyArray<Step>, base: { url?: string; token?: string } = {}) =>
  Effect.async<ReadonlyArray<Outcome>, Error>((resume) => {
    const env: Record<string, string | undefined> = {
      ...process.env,
      APH_API_DAL_URL: base.url ?? servers.url,
      APH_DAL_TOKEN: base.token ?? token,
      APH_DATA: JSON.stringify(datasets),
      APH_ENV: undefined,
      NO_PROXY: "127.0.0.1,localhost",
      no_proxy: "127.0.0.1,localhost",
      PYTHONDONTWRITEBYTECODE: "1"
    }
    const child = spawn(servers.python, [driver], { cwd: servers.dir, env, stdio: ["pipe", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("error", (error) => resume(Effect.fail(error)))
    child.on("close", (code) => {
      const last = stdout.trim().split("\n").pop() ?? ""
      resume(
        code === 0 && last.startsWith("[")
          ? Effect.succeed(JSON.parse(last) as ReadonlyArray<Outcome>)
          : Effect.fail(new Error(`the official client driver exited with ${code}: ${stderr.slice(-2000)}`))
      )
    })
    child.stdin.end(JSON.stringify({ steps }))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const one = (servers: Servers, step: Step, base?: { url?: string; token?: string }) =>
  Effect.map(official(servers, [step], base), (outcomes) => outcomes[0]!)

const succeeded = (outcome: Outcome) => {
  if (!outcome.ok) assert.fail(`the official client failed: ${outcome.error}: ${outcome.message}`)
  return outcome
}

layer(OfficialLive, { excludeTestServices: true, timeout: 120_000 })(
  "the official Python client (apheris-utils)",
  (it) => {
    it.effect("downloads a flat dataset: spaces, non-ASCII, an empty file and a 5 MiB file, byte for byte", () =>
      Effect.gen(function*() {
        const servers = yield* Official
        const out = path.join(servers.dir, "out-flat")
        const outcome = succeeded(yield* one(servers, { call: "download_dataset", args: { id: "flat", folder: out } }))
        assert.deepStrictEqual(outcome.result, { flat: path.join(out, "flat") })
        assert.deepStrictEqual(outcome.files, expectedFiles("flat"))
        assert.include(Object.keys(outcome.files ?? {}), "flat/empty.txt")
      }))

    it.effect("downloads a nested dataset into its subfolders, and a single-file dataset", () =>
      Effect.gen(function*() {
        const servers = yield* Official
        const out = path.join(servers.dir, "out-nested")
        const [nested, single] = yield* official(servers, [
          { call: "download_dataset", args: { id: "nested", folder: out } },
          { call: "download_dataset", args: { id: "single", folder: out } }
        ])
        assert.deepStrictEqual(succeeded(nested!).result, { nested: path.join(out, "nested") })
        assert.deepStrictEqual(succeeded(single!).result, { single: path.join(out, "single", "model weights.bin") })
        assert.deepStrictEqual(succeeded(single!).files, { ...expectedFiles("nested"), ...expectedFiles("single") })
      }))

    it.effect("download_all fetches every dataset in APH_DATA", () =>
      Effect.gen(function*() {
        const servers = yield* Official
        const out = path.join(servers.dir, "out-all")
        const data = { flat: datasets.flat, nested: datasets.nested, single: datasets.single, paged: datasets.paged }
        const outcome = succeeded(
          yield* one(servers, { call: "download_all", args: { folder: out }, env: { APH_DATA: JSON.stringify(data) } })
        )
        assert.deepStrictEqual(outcome.files, {
          ...expectedFiles("flat"),
          ...expectedFiles("nested"),
          ...expectedFiles("single"),
          ...expectedFiles("paged")
        })
      }))

    it.effect("follows the Link pages of a small page size to every key, and downloads them", () =>
      Effect.gen(function*() {
        const servers = yield* Official
        const out = path.join(servers.dir, "out-paged")
        const [listed, downloaded] = yield* official(servers, [
          { call: "list_remote_files", args: { id: "paged" } },
          { call: "download_dataset", args: { id: "paged", folder: out } }
        ], { url: servers.pagedUrl })
        assert.deepStrictEqual(
          succeeded(listed!).result,
          Array.from({ length: 7 }, (_, i) => `s3://bkt/paged/part ${i}.csv`)
        )
        assert.deepStrictEqual(succeeded(downloaded!).files, expectedFiles("paged"))
      }))

    it.effect("reads policies: a folder's, a file's over its folder's, and a list of ids", () =>
      Effect.gen(function*() {
        const servers = yield* Official
        const [flat, big, several] = yield* official(servers, [
          { call: "get_asset_policies", args: { ids: "flat" } },
          { call: "get_asset_policies", args: { ids: "big" } },
          { call: "get_asset_policies", args: { ids: ["nested", "single", "big"] } }
        ])
        assert.deepStrictEqual(succeeded(flat!).result, { flat: policies["s3://bkt/flat/"] })
        assert.deepStrictEqual(succeeded(big!).result, { big: policies["s3://bkt/flat/big.bin"] })
        assert.deepStrictEqual(succeeded(several!).result, {
          nested: policies["s3://bkt/nested/"],
          single: policies["s3://bkt/"],
          big: policies["s3://bkt/flat/big.bin"]
        })
      }))

    it.effect("uploads with persist_bytes and persist_file; they read back as a derived dataset", () =>
      Effect.gen(function*() {
        const servers = yield* Official
        const local = path.join(servers.dir, "local scores.csv")
        yield* Effect.promise(() => fs.writeFile(local, "score\n0.93\n"))
        const out = path.join(servers.dir, "out-derived")
        const [bytesUpload, fileUpload, renamed, back] = yield* official(servers, [
          { call: "persist_bytes", args: { name: "results_1", text: "metric,value\nacc,0.9\n", file: "metrics.csv" } },
          { call: "persist_file", args: { name: "results_1", path: local } },
          { call: "persist_file", args: { name: "results_1", path: local, file: "renamed.csv" } },
          {
            call: "download_dataset",
            args: { id: "derived", folder: out },
            env: { APH_DATA: JSON.stringify({ derived: "s3://derived/results_1/" }) }
          }
        ])
        for (const upload of [bytesUpload!, fileUpload!, renamed!]) succeeded(upload)
        assert.deepStrictEqual(succeeded(back!).files, {
          "derived/metrics.csv": sha256("metric,value\nacc,0.9\n"),
          "derived/local scores.csv": sha256("score\n0.93\n"),
          "derived/renamed.csv": sha256("score\n0.93\n")
        })
        const stored = yield* Effect.promise(() =>
          fs.readFile(path.join(servers.root, "derived", "results_1", "metrics.csv"), "utf8")
        )
        assert.strictEqual(stored, "metric,value\nacc,0.9\n")
      }))

    it.effect("a wrong token is refused (401) and a key outside the token's scope too (403): the client raises", () =>
      Effect.gen(function*() {
        const servers = yield* Official
        const out = path.join(servers.dir, "out-refused")
        const wrong = yield* official(servers, [
          { call: "download_dataset", args: { id: "flat", folder: out } },
          { call: "download_dataset", args: { id: "single", folder: out } },
          { call: "get_asset_policies", args: { ids: "flat" } },
          { call: "persist_bytes", args: { name: "nope", text: "x", file: "x.txt" } }
        ], { token: "not-a-token" })
        for (const outcome of wrong) assert.isFalse(outcome.ok)
        assert.deepStrictEqual(wrong.map((o) => (o.ok ? "" : o.error)), [
          "RuntimeError",
          "RuntimeError",
          "RuntimeError",
          "HTTPError"
        ])
        assert.include(wrong.map((o) => (o.ok ? "" : o.message)).join("\n"), "invalid bearer token")
        const outOfScope = yield* official(servers, [
          { call: "download_dataset", args: { id: "secret", folder: out } },
          { call: "download_dataset", args: { id: "flat", folder: out }, env: { APH_DAL_TOKEN: otherToken } }
        ])
        for (const outcome of outOfScope) {
          assert.isFalse(outcome.ok)
          assert.include(outcome.ok ? "" : outcome.message, "may not read")
        }
        const statuses = servers.log().filter((e) => e.grant === undefined || e.status === 403).map((e) => e.status)
        assert.includeMembers(statuses, [401, 403])
        const written = yield* Effect.promise(() => fs.readdir(out).catch(() => []))
        assert.deepStrictEqual(written, [])
      }))

    it.effect("retries a 503 and a 429 with Retry-After, then downloads", () =>
      Effect.gen(function*() {
        const servers = yield* Official
        const out = path.join(servers.dir, "out-flaky")
        const outcome = succeeded(yield* one(servers, { call: "download_dataset", args: { id: "flaky", folder: out } }))
        assert.deepStrictEqual(outcome.files, expectedFiles("flaky"))
        const flaky = servers.log().filter((e) => String(e.key).startsWith("s3://bkt/flaky/"))
        assert.deepStrictEqual(flaky.map((e) => [e.key, e.status]), [
          ["s3://bkt/flaky/", 503],
          ["s3://bkt/flaky/", 200],
          ["s3://bkt/flaky/f.csv", 429],
          ["s3://bkt/flaky/f.csv", 200]
        ])
      }))

    it.effect("cannot download a name containing #, as the README says (it sends keys unencoded)", () =>
      Effect.gen(function*() {
        const servers = yield* Official
        const outcome = yield* one(servers, {
          call: "download_dataset",
          args: { id: "odd", folder: path.join(servers.dir, "out-odd") }
        })
        assert.isFalse(outcome.ok)
        assert.include(outcome.ok ? "" : outcome.message, "s3://bkt/odd/hash  not found")
      }))
  }
)
