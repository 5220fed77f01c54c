// Bundles the trainer from the current sources once per test run, so tests exercise what a job would ship
// without depending on `pnpm build` having run first.
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { bundle } from "../../scripts/build-assets.mjs"

export default async function setup({ provide }) {
  const dir = await mkdtemp(join(tmpdir(), "fedkit-trainer-bundle-"))
  provide("customDir", await bundle(dir))
  return () => rm(dir, { recursive: true, force: true })
}
