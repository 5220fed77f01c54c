/** Test layers: the project's FLARE environment as this package finds it (its `.venv-flare`); FLARE's leftovers. */
import { NodeContext } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { existsSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { FlareInstallation } from "../../src/index.js"

/** `FEDKIT_FLARE_VENV`, else the repository's `.venv-flare` (found from the working directory upwards). */
export const Installation = FlareInstallation.layer.pipe(Layer.provideMerge(NodeContext.layer))

/**
 * What FLARE's default server configuration would keep of a job outside its deployment: the job in the machine-wide
 * job store (where every other server on the machine would run it too) and the sites' staged logs.
 */
export const leftInSharedStores = (jobId: string) =>
  Effect.sync(() => [join("/tmp", "nvflare", "jobs-storage", jobId), join(tmpdir(), jobId)].filter(existsSync))
