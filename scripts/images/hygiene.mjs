// Image hygiene, measured on the built images and printed: size, what no layer may hold (the machine's own CA
// certificates, credentials, the host's secret environment values, private keys), no package manager or build tool
// in the final stage, and every file root-owned and not writable by the runtime user outside /workspace.
import { randomBytes } from "node:crypto"
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createGunzip } from "node:zlib"
import { openContainer } from "./container.mjs"
import { bud, buildah, run } from "./lib.mjs"

const BUILD_TOOLS = [
  "gcc",
  "cc",
  "c++",
  "g++",
  "make",
  "cmake",
  "ld",
  "as",
  "git",
  "npm",
  "npx",
  "pnpm",
  "yarn",
  "yarnpkg",
  "corepack",
  "tsc",
  "turbo",
  "esbuild",
  "pip",
  "pip3",
  "pip3.11",
  "apt-get-build-dep"
]
const BUILD_LEFTOVERS = ["repo", "root/.npm", "root/.cache", "root/.local/share/pnpm", "usr/local/lib/node_modules"]
const BUILD_PACKAGES =
  /\/(?:node_modules\/(?:typescript|esbuild|turbo|vitest|pnpm|@esbuild)|site-packages\/(?:pip|setuptools|wheel))$/
// Sticky, world-writable scratch folders every Debian system has; read-only when the image runs with a read-only root.
const STANDARD_SCRATCH = new Set(["/tmp", "/var/tmp", "/run/lock"])
// apt's download folders, owned by its unprivileged sandbox user (_apt) and private to it (0700), in every Debian image.
const APT_SANDBOX = new Set(["/var/cache/apt/archives/partial", "/var/lib/apt/lists/partial"])

const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`

/** PEM bodies of the CA certificates this machine trusts beyond Debian's Mozilla set (the TLS interception CA). */
const hostOnlyCertificates = () => {
  const pems = (text) => text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
  const body = (pem) => pem.split("\n").filter((line) => line !== "" && !line.startsWith("-----")).join("")
  const mozilla = new Set()
  const dir = "/usr/share/ca-certificates/mozilla"
  for (const file of readdirSync(dir)) {
    for (const pem of pems(readFileSync(join(dir, file), "utf8"))) mozilla.add(body(pem))
  }
  return pems(readFileSync("/etc/ssl/certs/ca-certificates.crt", "utf8"))
    .map(body)
    .filter((b) => !mozilla.has(b))
}

/** What no layer may contain, by name; values are never printed. */
export const secretNeedles = (extra = []) => {
  const needles = []
  for (const [i, cert] of hostOnlyCertificates().entries()) {
    // the certificate as PEM lines (64 characters) and as DER bytes
    needles.push({ name: `this machine's CA certificate #${i + 1} (PEM)`, bytes: Buffer.from(cert.slice(64, 128)) })
    needles.push({
      name: `this machine's CA certificate #${i + 1} (DER)`,
      bytes: Buffer.from(cert, "base64").subarray(64, 128)
    })
  }
  for (const [name, value] of Object.entries(process.env)) {
    if (/TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|AUTH/i.test(name) && value !== undefined && value.length >= 8) {
      needles.push({ name: `the value of $${name}`, bytes: Buffer.from(value) })
    }
  }
  // Credentials as they would be written down, not the bare words (binaries and npm's own code hold those).
  const patterns = {
    "a PEM private key": /-----BEGIN (?:RSA |EC |OPENSSH |ENCRYPTED )?PRIVATE KEY-----\r?\n[A-Za-z0-9+/=]{40}/,
    "an npm registry token": /_authToken\s*=\s*[A-Za-z0-9_\-.]{16,}/,
    "an APH_DAL_TOKEN value": /APH_DAL_TOKEN\s*[=:]\s*"?[A-Za-z0-9_\-.]{16,}/,
    "a GitHub token": /\bgh[pousr]_[A-Za-z0-9]{36}\b/
  }
  // Not in the base image's layers: Debian's libgnutls carries public self-test keys.
  for (const [name, pattern] of Object.entries(patterns)) needles.push({ name, pattern, appLayersOnly: true })
  return [...needles, ...extra]
}

/** Which needles occur in a blob (gunzipped when it is a gzip layer), searched in chunks that overlap. */
const scanBlob = async (file, gzip, needles) => {
  const found = new Set()
  const overlap = Math.max(256, ...needles.map((n) => n.bytes?.length ?? 0))
  let bytes = 0
  let tail = Buffer.alloc(0)
  const stream = gzip ? createReadStream(file).pipe(createGunzip()) : createReadStream(file)
  for await (const chunk of stream) {
    bytes += chunk.length
    const view = Buffer.concat([tail, chunk])
    const text = needles.some((n) => n.pattern !== undefined) ? view.toString("latin1") : ""
    for (const needle of needles) {
      if (needle.bytes === undefined ? needle.pattern.test(text) : view.includes(needle.bytes)) found.add(needle.name)
    }
    tail = view.subarray(Math.max(0, view.length - overlap))
  }
  return { found, bytes }
}

/** Pushes the image to an OCI layout and scans every layer (its content, uncompressed) and the config. */
const scanLayers = async (image, base, needles) => {
  const diffIds = (name) =>
    JSON.parse(buildah(["inspect", "--type", "image", name], { capture: true }).stdout).OCIv1.rootfs.diff_ids
  const baseIds = diffIds(base)
  const ownIds = diffIds(image)
  if (baseIds.some((id, i) => ownIds[i] !== id)) throw new Error(`${image} is not built on ${base}`)
  const dir = mkdtempSync(join(tmpdir(), "fedkit-image-scan-"))
  try {
    buildah(["push", "--quiet", "--disable-compression", image, `oci:${dir}/layout`], { capture: true })
    const blobs = join(dir, "layout", "blobs", "sha256")
    const index = JSON.parse(readFileSync(join(dir, "layout", "index.json"), "utf8"))
    const manifest = JSON.parse(readFileSync(join(blobs, index.manifests[0].digest.slice(7)), "utf8"))
    const findings = []
    let bytes = 0
    for (const [i, { digest, mediaType }] of [manifest.config, ...manifest.layers].entries()) {
      const inBase = i >= 1 && i <= baseIds.length
      const scanned = await scanBlob(
        join(blobs, digest.slice(7)),
        mediaType.endsWith("+gzip"),
        needles.filter((needle) => !(inBase && needle.appLayersOnly))
      )
      if (mediaType.includes("layer")) bytes += scanned.bytes
      for (const name of scanned.found) findings.push(`${name} in ${digest.slice(0, 19)}`)
    }
    const compressed = manifest.layers.reduce((sum, layer) => sum + layer.size, 0)
    return { layers: manifest.layers.length, baseLayers: baseIds.length, bytes, compressed, findings }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** uid, gid, mode and type of every path of a root filesystem, except the kernel's and /workspace. */
const walk = (rootfs) => {
  const pruned = ["proc", "sys", "dev", "workspace"].flatMap((dir, i) => [
    ...(i === 0 ? [] : ["-o"]),
    "-path",
    `${rootfs}/${dir}`
  ])
  const out = run("find", [
    rootfs,
    "-xdev",
    "(",
    ...pruned,
    ")",
    "-prune",
    "-o",
    "-printf",
    "%U %G %m %y %p\\0"
  ], { capture: true })
  return out.stdout.split("\0").filter((line) => line !== "").map((line) => {
    const [uid, gid, mode, type, ...rest] = line.split(" ")
    return {
      uid: Number(uid),
      gid: Number(gid),
      mode: parseInt(mode, 8),
      type,
      path: rest.join(" ").slice(rootfs.length) || "/"
    }
  })
}

/** Measures and checks one image; returns the report lines and the problems found. */
export const inspectImage = async ({ base, extraNeedles = [], image, sizes = [], workdir }) => {
  const lines = []
  const problems = []
  const needles = secretNeedles(extraNeedles)
  const scan = await scanLayers(image, base, needles)
  lines.push(`size ${mib(scan.bytes)} in ${scan.layers} layers (${mib(scan.compressed)} compressed)`)
  if (scan.findings.length === 0) {
    lines.push(
      `layer scan (${needles.length} needles): none of this machine's CA certificates or secret values in any layer` +
        ` or the config; no private key or token in the ${scan.layers - scan.baseLayers} layer(s) over the base`
    )
  } else problems.push(...scan.findings.map((f) => `layer scan: ${f}`))

  const container = openContainer(image, join(workdir, "hygiene-workspace"))
  try {
    const root = container.rootfs
    const du = (path) => Number(run("du", ["-sb", join(root, path)], { capture: true }).stdout.split("\t")[0])
    if (sizes.length > 0) lines.push(`of which ${sizes.map((path) => `${path} ${mib(du(path))}`).join(", ")}`)

    const entries = walk(root)
    const pathDirs = ((container.config.Env ?? []).find((e) => e.startsWith("PATH=")) ?? "PATH=").slice(5).split(":")
    const present = new Set(entries.map((e) => e.path))
    const tools = BUILD_TOOLS.flatMap((tool) => pathDirs.map((dir) => `${dir}/${tool}`)).filter((p) => present.has(p))
    const leftovers = BUILD_LEFTOVERS.filter((p) => present.has(`/${p}`))
    const packages = entries.filter((e) => e.type === "d" && BUILD_PACKAGES.test(e.path)).map((e) => e.path)
    if (tools.length + leftovers.length + packages.length === 0) {
      lines.push(`no build tool or package manager on PATH (${BUILD_TOOLS.length} names checked), no build leftovers`)
    } else problems.push(`build tools in the final stage: ${[...tools, ...leftovers, ...packages].join(", ")}`)

    const foreign = entries.filter((e) => e.uid !== 0 && !(APT_SANDBOX.has(e.path) && (e.mode & 0o077) === 0))
    const writable = entries.filter((e) =>
      e.type !== "l" && !STANDARD_SCRATCH.has(e.path) &&
      ((e.uid === container.uid && e.mode & 0o200) || (e.gid === container.gid && e.mode & 0o020) || e.mode & 0o002)
    )
    const setid = entries.filter((e) => e.type === "f" && e.mode & 0o6000).map((e) => e.path)
    if (foreign.length === 0 && writable.length === 0) {
      lines.push(
        `${entries.length} paths outside /workspace: all owned by root, none writable by ${container.uid}` +
          ` (besides the sticky scratch folders ${[...STANDARD_SCRATCH].filter((p) => present.has(p)).join(", ")}` +
          ` and apt's private download folders, owned by _apt)`
      )
    } else {
      problems.push(
        `not root-owned: ${foreign.slice(0, 10).map((e) => `${e.path} (${e.uid})`).join(", ") || "none"}; ` +
          `writable by ${container.uid}: ${writable.slice(0, 10).map((e) => e.path).join(", ") || "none"}`
      )
    }
    if (setid.length === 0) lines.push("no set-uid or set-gid file")
    else problems.push(`set-uid/set-gid files: ${setid.join(", ")}`)
  } finally {
    container.close()
  }
  return { lines, problems }
}

/**
 * Proves the scanner finds what it looks for: a throwaway image over `base` with one layer holding this machine's CA
 * bundle and a made-up npm token must be reported on both counts.
 */
export const scannerSelfTest = async (base, workdir) => {
  const context = mkdtempSync(join(workdir, "canary-"))
  const image = `localhost/fedkit-images-scan-canary:${process.pid}`
  writeFileSync(join(context, "Containerfile"), `FROM ${base}\nCOPY canary /opt/canary\n`)
  writeFileSync(
    join(context, "canary"),
    `${readFileSync("/etc/ssl/certs/ca-certificates.crt", "utf8")}\n//registry.example/:_authToken=npm_${
      randomBytes(18).toString("hex")
    }\n`
  )
  try {
    bud(["-t", image, context], { capture: true })
    const { findings } = await scanLayers(image, base, secretNeedles())
    const expected = ["this machine's CA certificate #1 (PEM)", "an npm registry token"]
    const missed = expected.filter((name) => !findings.some((finding) => finding.startsWith(name)))
    if (missed.length > 0) throw new Error(`the layer scanner missed ${missed.join(" and ")} in a canary image`)
    return `a canary layer with this machine's CA bundle and an npm token is caught (${findings.length} findings)`
  } finally {
    buildah(["rmi", image], { capture: true, allowFailure: true })
    rmSync(context, { recursive: true, force: true })
  }
}
