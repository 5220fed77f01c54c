import { assert, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as NodePath from "node:path"
import { AssetPolicy, DalClient } from "../src/index.js"
import { filesBelow, makeZip, startServer, tempDir, TOKEN } from "./support/index.js"

// The README's program, with the destination as a parameter.
const program = (dest: string) =>
  Effect.gen(function*() {
    const dal = yield* DalClient.DalClient
    const policy = yield* dal.policy("hippocampus")
    if (!AssetPolicy.mayRun(policy, "train")) return yield* Effect.dieMessage("the asset policy does not allow train")
    const result = yield* dal.downloadDataset("hippocampus", dest, {
      extract: true,
      onProgress: (p) => Console.log(`${p.filesDone}/${p.filesTotal} files, ${p.bytesDone} bytes`)
    })
    yield* Console.log(`${result.files.length} files (${result.skipped} already complete) in ${result.dest}`)
    return result
  })

it.scopedLive("the README example runs against a local DAL, configured by APH_* variables", () =>
  Effect.gen(function*() {
    const server = yield* startServer({
      files: {
        "s3://bkt/ds004/Dataset004_Hippocampus_A.zip": makeZip([{ name: "imagesTr/a.nii.gz", data: Buffer.from("x") }]),
        "s3://bkt/ds004/dataset.json": "{}"
      },
      policies: { "s3://bkt/ds004/": { permissions: { restrict_functions: true, allowed_function_names: ["train"] } } }
    })
    const env = ConfigProvider.fromMap(
      new Map([
        ["APH_API_DAL_URL", server.url],
        ["APH_DAL_TOKEN", TOKEN],
        ["APH_DATA", JSON.stringify({ hippocampus: "s3://bkt/ds004/" })]
      ])
    )
    const dest = yield* tempDir
    const result = yield* program(dest).pipe(Effect.provide(DalClient.layerNode), Effect.withConfigProvider(env))
    assert.strictEqual(result.downloaded, 2)
    assert.deepStrictEqual(yield* filesBelow(dest), [
      "Dataset004_Hippocampus_A.zip",
      NodePath.join("Dataset004_Hippocampus_A", "imagesTr", "a.nii.gz"),
      "dataset.json"
    ])
  }))
