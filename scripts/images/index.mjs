#!/usr/bin/env node
// `pnpm images`: builds both model images for real, without a Docker engine, and checks them from inside.
//
// 1. base images from Debian's archive (mmdebstrap; cached under FEDKIT_IMAGES_CACHE, default
//    /var/cache/fedkit-images, and rebuilt when missing): NODE_IMAGE and PYTHON_IMAGE;
// 2. apps/secure-runtime/Dockerfile and apps/gateway-trainer/Dockerfile, as they are, with those base images as build
//    arguments, by `buildah bud` (vfs storage, chroot isolation) into root's default storage, tagged
//    fedkit/secure-runtime and fedkit/gateway-trainer. Steps that install from the registries get the machine's CA
//    bundle through read-only mounts that exist only while a step runs (never in a layer: step 3 checks);
// 3. hygiene of each image: size, a scan of every layer, no build tool, ownership and permissions;
// 4. each app's checks inside its image (apps/*/scripts/image-check.mjs), as uid 3333 on a read-only root.
//
// Needs root, buildah and mmdebstrap (`apt-get install buildah mmdebstrap`), and `pnpm build` (run by `pnpm images`).
// Prints the time of each step and one summary line; exits 1 when any step or check fails.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { checkModelImage } from "../../apps/gateway-trainer/scripts/image-check.mjs"
import { checkSecureRuntimeImage } from "../../apps/secure-runtime/scripts/image-check.mjs"
import { baseImages, DEFAULT_CACHE } from "./base.mjs"
import { inspectImage, scannerSelfTest } from "./hygiene.mjs"
import { budTimed, buildah, log, run, timed } from "./lib.mjs"

const CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
// The model image first: it uses every package the Secure Runtime image does, so the second build finds them compiled
// in the build cache both Dockerfiles share.
const IMAGES = [
  {
    name: "fedkit/gateway-trainer",
    dockerfile: "apps/gateway-trainer/Dockerfile",
    base: "python",
    buildArgs: ["NODE_IMAGE", "PYTHON_IMAGE"],
    sizes: ["opt/gateway-trainer/node_modules", "opt/flare", "usr/local/bin/node"],
    check: checkModelImage
  },
  {
    name: "fedkit/secure-runtime",
    dockerfile: "apps/secure-runtime/Dockerfile",
    base: "node",
    buildArgs: ["NODE_IMAGE"],
    sizes: ["opt/secure-runtime/node_modules", "usr/local/bin/node"],
    check: checkSecureRuntimeImage
  }
]

for (const tool of ["buildah", "mmdebstrap", "unshare"]) {
  if (run("sh", ["-c", `command -v ${tool}`], { capture: true, allowFailure: true }).status !== 0) {
    log(`${tool} is missing: install it as root with \`apt-get install buildah mmdebstrap\` (Debian/Ubuntu)`)
    process.exit(1)
  }
}
if (process.getuid?.() !== 0) {
  log("run as root: buildah's chroot isolation, root's default storage and the checks' mounts need it")
  process.exit(1)
}

const imageId = (name) =>
  buildah(["inspect", "--type", "image", "--format", "{{.FromImageID}}", name], { capture: true, allowFailure: true })
    .stdout?.trim() || undefined

/**
 * Builds one Dockerfile (downloads are cached by its cache mounts); the image the tag named before is removed when the
 * build replaced it.
 */
const build = async (image, buildArgs, mounts) => {
  const before = imageId(image.name)
  const steps = await budTimed([
    "-f",
    image.dockerfile,
    "--ignorefile",
    `${image.dockerfile}.dockerignore`,
    ...image.buildArgs.flatMap((name) => ["--build-arg", `${name}=${buildArgs[name]}`]),
    ...mounts.flatMap((mount) => ["-v", mount]),
    "-t",
    image.name,
    "."
  ])
  const after = imageId(image.name)
  if (before !== undefined && before !== after) buildah(["rmi", before], { capture: true, allowFailure: true })
  log(`${image.name}: when each step started (seconds into the build), how long it took, what it was:`)
  for (const { at, line, seconds } of steps) {
    const took = seconds === undefined ? "    (end not seen)" : `${seconds.toFixed(1).padStart(7)} s`
    log(`  +${at.toFixed(1).padStart(6)} s ${took}  ${line.slice(0, 100)}`)
  }
  return after
}

const work = mkdtempSync(join(tmpdir(), "fedkit-images-"))
const times = []
const report = []
let failures = 0
const startedAll = process.hrtime.bigint()
try {
  const cache = process.env.FEDKIT_IMAGES_CACHE ?? DEFAULT_CACHE
  const bases = await timed("base images", () => baseImages(cache))
  times.push(["base images", bases.seconds])
  const buildArgs = { NODE_IMAGE: bases.value.node, PYTHON_IMAGE: bases.value.python }

  // npm, pnpm and pip read these; the files and the CA bundle are mounted read-only into each RUN step only.
  writeFileSync(join(work, "npmrc"), `cafile=${CA_BUNDLE}\n`)
  writeFileSync(join(work, "pip.conf"), `[global]\ncert = ${CA_BUNDLE}\n`)
  const mounts = [
    "/etc/ssl/certs:/etc/ssl/certs:ro",
    `${join(work, "npmrc")}:/root/.npmrc:ro`,
    `${join(work, "pip.conf")}:/etc/pip.conf:ro`
  ]
  for (const image of IMAGES) {
    const built = await timed(`build ${image.name}`, () => build(image, buildArgs, mounts))
    times.push([`build ${image.name}`, built.seconds])
  }

  const selfTest = await timed("layer scanner self-test", () => scannerSelfTest(bases.value.node, work))
  times.push(["scanner self-test", selfTest.seconds])
  report.push(`layer scanner self-test: ${selfTest.value}`)

  for (const image of IMAGES) {
    const hygiene = await timed(`hygiene of ${image.name}`, () =>
      inspectImage({
        image: image.name,
        base: bases.value[image.base],
        workdir: join(work, `${image.base}-hygiene`),
        sizes: image.sizes
      }))
    times.push([`hygiene ${image.name}`, hygiene.seconds])
    for (const line of hygiene.value.lines) report.push(`${image.name}: ${line}`)
    for (const problem of hygiene.value.problems) {
      failures++
      report.push(`${image.name}: FAILED ${problem}`)
    }
    try {
      const checked = await timed(
        `checks inside ${image.name}`,
        () => image.check({ image: image.name, workdir: join(work, `${image.base}-check`) })
      )
      times.push([`checks ${image.name}`, checked.seconds])
      for (const line of checked.value) report.push(`${image.name}: ok: ${line}`)
    } catch (error) {
      failures++
      report.push(`${image.name}: FAILED ${error.message}`)
    }
  }
} catch (error) {
  failures++
  report.push(`FAILED ${error.message}`)
} finally {
  rmSync(work, { recursive: true, force: true })
}

const total = Number(process.hrtime.bigint() - startedAll) / 1e9
process.stdout.write("\n")
for (const line of report) process.stdout.write(`${line}\n`)
process.stdout.write(`times: ${times.map(([label, s]) => `${label} ${s.toFixed(0)} s`).join(", ")}\n`)
process.stdout.write(
  `images: ${failures === 0 ? "2 built and checked" : `${failures} FAILED`}, ${total.toFixed(0)} s` +
    ` (run buildah --storage-driver vfs from fedkit/secure-runtime or fedkit/gateway-trainer to look inside)\n`
)
process.exit(failures === 0 ? 0 : 1)
