/** Test layers: the project's FLARE environment (tooling/flare) as this package's `FlareInstallation`; FLARE's leftovers. */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { FlareToolchain } from "@fedkit/flare-toolchain"
import { Effect, Layer, Option } from "effect"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { FlareInstallation } from "../src/index.js"

export const Installation = Layer.effect(
  FlareInstallation.FlareInstallation,
  Effect.map(FlareToolchain.FlareToolchain, (toolchain) => ({
    python: toolchain.python,
    nvflare: toolchain.nvflare,
    binDir: dirname(toolchain.nvflare),
    venvDir: Option.some(toolchain.venvDir)
  }))
).pipe(Layer.provide(FlareToolchain.layer), Layer.provideMerge(NodeContext.layer))

/**
 * What FLARE's default server configuration would keep of a job outside its deployment: the job in the machine-wide
 * job store (where every other server on the machine would run it too) and the sites' staged logs.
 */
export const leftInSharedStores = (jobId: string) =>
  Effect.filter(
    [join("/tmp", "nvflare", "jobs-storage", jobId), join(tmpdir(), jobId)],
    (left) => Effect.flatMap(FileSystem.FileSystem, (fs) => fs.exists(left))
  )
