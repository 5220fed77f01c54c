import { Command, FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { createHash } from "node:crypto"
import { FlareInstallation, JobPackage, JobStore, JobZip } from "../src/index.js"
import * as zip from "../src/internal/zip.js"
import * as fixtures from "./fixtures/numpyJob.js"
import { Installation } from "./support/flare.js"

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex")
const bytes = (text: string) => new TextEncoder().encode(text)

/** A tiny job given as raw bytes, so its archive depends on nothing but this package's ZIP format. */
const tinyJob = JobPackage.fromBytes("tiny", [
  ["meta.json", bytes("{\"name\": \"tiny\", \"min_clients\": 1, \"deploy_map\": {\"app\": [\"@ALL\"]}}\n")],
  [
    "app/config/config_fed_server.json",
    bytes(
      "{\"format_version\": 2, \"workflows\": [{\"id\": \"controller\", " +
        "\"path\": \"nvflare.app_common.workflows.fedavg.FedAvg\", " +
        "\"args\": {\"num_clients\": 1, \"num_rounds\": 1, \"persistor_id\": \"persistor\"}}], " +
        "\"components\": [{\"id\": \"persistor\", \"path\": \"nvflare.app_common.np.np_model_persistor.NPModelPersistor\"}]}\n"
    )
  ],
  [
    "app/config/config_fed_client.json",
    bytes(
      "{\"format_version\": 2, \"executors\": [{\"tasks\": [\"*\"], \"executor\": {" +
        "\"path\": \"nvflare.app_common.executors.client_api_executor.ClientAPIExecutor\", " +
        "\"args\": {\"execution_mode\": \"external_process\", \"command\": \"python3 custom/client.py\"}}}]}\n"
    )
  ],
  ["app/custom/client.py", bytes("print('hello')\n")]
])

/** The entries of a ZIP as the central directory lists them: name, DOS time and date, external attributes. */
const centralDirectory = (archive: Uint8Array) => {
  const view = new DataView(archive.buffer, archive.byteOffset, archive.byteLength)
  const end = archive.length - 22
  const count = view.getUint16(end + 10, true)
  let at = view.getUint32(end + 16, true)
  const entries: Array<{ name: string; time: number; date: number; mode: number; extra: number }> = []
  for (let i = 0; i < count; i++) {
    const nameLength = view.getUint16(at + 28, true)
    entries.push({
      name: new TextDecoder().decode(archive.subarray(at + 46, at + 46 + nameLength)),
      time: view.getUint16(at + 12, true),
      date: view.getUint16(at + 14, true),
      mode: view.getUint32(at + 38, true) >>> 16,
      extra: view.getUint16(at + 30, true)
    })
    at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true)
  }
  return entries
}

describe("JobZip.encode", () => {
  it.effect("is deterministic, with a directory entry for every folder, sorted, dated 1980, modes fixed", () =>
    Effect.gen(function*() {
      const pkg = yield* JobPackage.make("fedkit-np", fixtures.files)
      const first = JobZip.encode(pkg)
      const second = JobZip.encode(yield* JobPackage.make("fedkit-np", { ...fixtures.files }))
      assert.deepStrictEqual(first, second)
      const entries = centralDirectory(first)
      assert.deepStrictEqual(entries.map((entry) => entry.name), [
        "fedkit-np/",
        "fedkit-np/app/",
        "fedkit-np/app/config/",
        "fedkit-np/app/config/config_fed_client.json",
        "fedkit-np/app/config/config_fed_server.json",
        "fedkit-np/app/custom/",
        "fedkit-np/app/custom/client.py",
        "fedkit-np/meta.json"
      ])
      for (const entry of entries) {
        // Nothing a machine could vary: no time but 1980-01-01 00:00, no extra fields (where mtimes would go).
        assert.strictEqual(entry.time, 0)
        assert.strictEqual(entry.date, 0x21)
        assert.strictEqual(entry.extra, 0)
        assert.strictEqual(entry.mode, entry.name.endsWith("/") ? 0o040755 : 0o100644)
      }
    }))

  it.effect("has a stable format: the same tiny job always gives this exact archive", () =>
    Effect.gen(function*() {
      const archive = JobZip.encode(yield* tinyJob)
      assert.strictEqual(archive.length, 1562)
      assert.strictEqual(sha256(archive), "0da54785afada65f93589f655f10efd71553cb3be36fe76dac6d00cdf009c5ec")
    }))

  it.effect("round-trips: decoding the archive gives the same package", () =>
    Effect.gen(function*() {
      const pkg = yield* JobPackage.make("fedkit-np", fixtures.files)
      const back = yield* JobZip.decode(JobZip.encode(pkg))
      assert.strictEqual(back.name, pkg.name)
      assert.strictEqual(back.digest, pkg.digest)
    }))
})

describe("JobZip.decode refuses hostile archives", () => {
  const archive = (...names: ReadonlyArray<string>) =>
    zip.write(names.map((name) => name.endsWith("/") ? { name } : { name, data: bytes("{}") }))
  const base = ["job/meta.json", "job/app/config/config_fed_server.json"]
  const cases: ReadonlyArray<readonly [string, Uint8Array, RegExp]> = [
    ["an entry climbing out of the job", archive(...base, "job/app/custom/../../../../etc/passwd"), /climbs out/],
    ["an entry outside any job folder", archive(...base, "../evil.sh"), /not inside one job folder/],
    ["an absolute entry", archive("/etc/passwd"), /not inside one job folder/],
    ["a backslash entry", archive(...base, "job/app/custom/..\\..\\evil"), /backslash/],
    ["two top folders", archive(...base, "other/meta.json"), /more than one top folder/],
    ["a folder entry outside the layout", archive(...base, "job/app/local/"), /folder entry/],
    ["a duplicate entry", archive(...base, "job/meta.json"), /appears twice/],
    ["a FLARE signature file", archive(...base, "job/app/custom/.__nvfl_sig.json"), /signature/],
    ["a file at the root next to meta.json", archive(...base, "job/run.sh"), /only meta\.json/]
  ]
  for (const [label, hostile, reason] of cases) {
    it.effect(`refuses ${label}`, () =>
      Effect.gen(function*() {
        const error = yield* JobZip.decode(hostile, { source: "hostile.zip" }).pipe(Effect.flip)
        assert.match(error.message, reason)
      }))
  }

  const patched = (patch: (view: DataView, centralStart: number) => void) => {
    const copy = Uint8Array.from(archive("job/meta.json"))
    const view = new DataView(copy.buffer)
    patch(view, view.getUint32(copy.length - 22 + 16, true))
    return copy
  }
  const broken: ReadonlyArray<readonly [string, Uint8Array, RegExp]> = [
    ["a symbolic link", patched((view, at) => view.setUint32(at + 38, (0o120777 << 16) >>> 0, true)), /symbolic link/],
    ["an encrypted entry", patched((view, at) => view.setUint16(at + 8, 0x0801, true)), /encrypted/],
    ["a wrong CRC", patched((view, at) => view.setUint32(at + 16, 0xdeadbeef, true)), /CRC/],
    ["a size beyond the limit", patched((view, at) => view.setUint32(at + 24, 0x7fffffff, true)), /more than/],
    ["an unknown compression", patched((view, at) => view.setUint16(at + 10, 12, true)), /compression method/],
    ["a truncated archive", archive("job/meta.json").subarray(0, 40), /not a ZIP|too short|truncated/]
  ]
  for (const [label, hostile, reason] of broken) {
    it.effect(`refuses ${label}`, () =>
      Effect.gen(function*() {
        const error = yield* JobZip.decode(hostile).pipe(Effect.flip)
        assert.strictEqual(error._tag, "InvalidArchive")
        assert.match(error.message, reason)
      }))
  }
})

layer(Installation, { excludeTestServices: true })("JobZip and FLARE's own tools", (it) => {
  const python = (script: string, ...args: ReadonlyArray<string>) =>
    Effect.flatMap(
      FlareInstallation.FlareInstallation,
      (installation) => Command.make(installation.python, "-c", script, ...args).pipe(Command.string)
    )

  it.scoped("FLARE's JobMetaValidator accepts the archive and sees the custom/ folder (BYOC)", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const written = yield* JobStore.write(yield* JobPackage.make("fedkit-np", fixtures.files), {
        outDir: dir,
        zip: true
      })
      const output = yield* python(
        [
          "import json, sys",
          "from nvflare.private.fed.server.job_meta_validator import JobMetaValidator",
          "ok, error, meta = JobMetaValidator().validate('fedkit-np', open(sys.argv[1], 'rb').read())",
          "print(json.dumps({'ok': ok, 'error': error, 'byoc': meta.get('byoc')}))"
        ].join("\n"),
        written.zip!
      )
      assert.deepStrictEqual(JSON.parse(output), { ok: true, error: "", byoc: true })
    }))

  it.scoped("reads a deflated archive without directory entries, as other tools make them", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped()
      const pkg = yield* JobPackage.make("fedkit-np", fixtures.files)
      const folder = yield* JobStore.writeFolder(pkg, path.join(dir, "fedkit-np"))
      const archive = path.join(dir, "other.zip")
      yield* python(
        [
          "import os, sys, zipfile",
          "root = sys.argv[1]",
          "with zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as z:",
          "    for base, _, files in os.walk(root):",
          "        for name in files:",
          "            full = os.path.join(base, name)",
          "            z.write(full, os.path.join('fedkit-np', os.path.relpath(full, root)))"
        ].join("\n"),
        folder,
        archive
      )
      const back = yield* JobStore.read(archive)
      assert.strictEqual(back.digest, pkg.digest)
    }))
})

describe("JobStore.read of a ZIP", () => {
  it.effect("refuses a file that is not an archive", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = yield* fs.makeTempFileScoped()
      yield* fs.writeFileString(file, "not a zip")
      const error = yield* JobStore.read(file).pipe(Effect.flip)
      assert.match(error.message, /neither a job folder nor a ZIP/)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))
})
