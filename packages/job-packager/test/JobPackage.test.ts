import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { createHash } from "node:crypto"
import { JobPackage } from "../src/index.js"
import * as fixtures from "./fixtures/numpyJob.js"

const text = (data: Uint8Array) => new TextDecoder().decode(data)

const invalid = (name: string, files: Record<string, JobPackage.FileContent>) =>
  JobPackage.make(name, files).pipe(Effect.flip)

describe("JobPackage.make", () => {
  it.effect("checks a template's output and keeps its files sorted, with hashes and a digest", () =>
    Effect.gen(function*() {
      const pkg = yield* JobPackage.make("fedkit-np", fixtures.files)
      assert.strictEqual(pkg.target, "2.9")
      assert.deepStrictEqual(pkg.files.map((file) => file.path), [
        "app/config/config_fed_client.json",
        "app/config/config_fed_server.json",
        "app/custom/client.py",
        "meta.json"
      ])
      for (const file of pkg.files) {
        assert.strictEqual(file.sha256, createHash("sha256").update(file.data).digest("hex"))
      }
      assert.strictEqual(text(pkg.files[2]!.data), fixtures.trainer)
      // The digest is the SHA-256 of a `sha256sum` listing of the job folder.
      const listing = pkg.files.map((file) => `${file.sha256}  fedkit-np/${file.path}\n`).join("")
      assert.strictEqual(pkg.digest, `sha256:${createHash("sha256").update(listing).digest("hex")}`)
    }))

  it.effect("writes JSON values canonically: key order in the input does not change a byte", () =>
    Effect.gen(function*() {
      const reordered = {
        "app/custom/client.py": fixtures.trainer,
        "meta.json": { deploy_map: { app: ["@ALL"] }, min_clients: 2, resource_spec: {}, name: "fedkit-np" },
        "app/config/config_fed_client.json": JSON.parse(JSON.stringify(fixtures.clientConfig)),
        "app/config/config_fed_server.json": Object.fromEntries(Object.entries(fixtures.serverConfig).reverse())
      }
      const a = yield* JobPackage.make("fedkit-np", fixtures.files)
      const b = yield* JobPackage.make("fedkit-np", reordered)
      assert.strictEqual(a.digest, b.digest)
      assert.match(text(a.files[3]!.data), /^\{\n {2}"name": "fedkit-np",\n/)
    }))

  it.effect("keeps JSON given as text (as a runtime renders it) byte for byte", () =>
    Effect.gen(function*() {
      const meta = "{\"name\":\"fedkit-np\",\"min_clients\":2,\"deploy_map\":{\"app\":[\"@ALL\"]}}"
      const pkg = yield* JobPackage.make("fedkit-np", { ...fixtures.files, "meta.json": meta })
      assert.strictEqual(text(pkg.files.find((file) => file.path === "meta.json")!.data), meta)
    }))

  it.effect("checks the job as a whole with flare-config: every deployed app must exist with its configs", () =>
    Effect.gen(function*() {
      const error = yield* invalid("fedkit-np", {
        ...fixtures.files,
        "meta.json": { name: "fedkit-np", min_clients: 2, deploy_map: { app: ["@ALL"], app_missing: ["site-9"] } }
      })
      assert.strictEqual(error._tag, "InvalidJob")
      assert.isTrue(error.issues.some((issue) => /app_missing/.test(issue.toString())), error.message)

      const noClient = yield* invalid("fedkit-np", {
        "meta.json": fixtures.meta,
        "app/config/config_fed_server.json": fixtures.serverConfig,
        "app/custom/client.py": fixtures.trainer
      })
      assert.isTrue(noClient.issues.some((issue) => /no client config/.test(issue.toString())), noClient.message)
    }))

  it.effect("reports every problem at once: bad paths, bad JSON, values where text is needed", () =>
    Effect.gen(function*() {
      const error = yield* invalid("fedkit-np", {
        ...fixtures.files,
        "../../etc/cron.d/evil": "* * * * * root rm -rf /",
        "app/config/environment.json": "{not json",
        "app/custom/model.bin": { weights: [1, 2] } as JobPackage.FileContent,
        "app/custom/\u001b]0;pwned\u0007.py": "print(1)"
      })
      const byFile = new Map(error.issues.map((issue) => [issue.file, issue.message]))
      assert.match(byFile.get("../../etc/cron.d/evil") ?? "", /climbs out/)
      assert.match(byFile.get("app/config/environment.json") ?? "", /not valid JSON/)
      assert.match(byFile.get("app/custom/model.bin") ?? "", /text or bytes/)
      assert.match(byFile.get("app/custom/\u001b]0;pwned\u0007.py") ?? "", /control character/)
      // The message shows hostile names escaped: one line, no raw control characters.

      assert.notMatch(error.message, /[\u0000-\u001f]/)
      assert.include(error.message, "\\u001b]0;pwned\\u0007.py")
    }))

  it.effect("refuses a job name FLARE would refuse", () =>
    Effect.gen(function*() {
      const error = yield* invalid("../evil", fixtures.files)
      assert.match(error.message, /job name/)
    }))

  it.effect("refuses non-JSON values such as NaN", () =>
    Effect.gen(function*() {
      const error = yield* invalid("fedkit-np", {
        ...fixtures.files,
        "app/config/config_fed_server.json": { ...fixtures.serverConfig, bad: Number.NaN }
      })
      assert.isTrue(error.issues.some((issue) => /finite number/.test(issue.message)), error.message)
    }))
})

describe("JobPackage.manifest", () => {
  it.effect("lists every file's size and SHA-256 with the digest", () =>
    Effect.gen(function*() {
      const pkg = yield* JobPackage.make("fedkit-np", fixtures.files)
      const manifest = JobPackage.manifest(pkg)
      assert.strictEqual(manifest.digest, pkg.digest)
      assert.deepStrictEqual(
        manifest.files.map((file) => [file.path, file.size, file.sha256]),
        pkg.files.map((file) => [file.path, file.data.length, file.sha256])
      )
      assert.strictEqual(JobPackage.manifestJson(manifest), JobPackage.manifestJson(JobPackage.manifest(pkg)))
    }))
})
