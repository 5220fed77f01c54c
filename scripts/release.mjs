#!/usr/bin/env node
// `pnpm release`: publishes what `pnpm version-packages` wrote and the maintainer committed (CONTRIBUTING.md, "Releasing").
// It refuses a working tree with changes: the version bump must be in the commit the tags point at. Then it runs
// the test command (build, every test, and the consumer test, which rehearses this publish against a local
// registry), publishes every public package whose version is not on the registry yet (`changeset publish`, through
// `pnpm publish`, so `.pnpmfile.cjs` shapes the manifests), and tags HEAD with `@fedkit/<pkg>@<version>`.
import { spawnSync } from "node:child_process"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const run = (command, args) => spawnSync(command, args, { cwd: root, stdio: "inherit" }).status === 0

const status = spawnSync("git", ["status", "--porcelain"], { cwd: root, encoding: "utf8" })
if (status.status !== 0) {
  process.stderr.write("release: not a git checkout; run it in the repository you release from\n")
  process.exit(1)
}
if (status.stdout.trim() !== "") {
  process.stderr.write(
    "release: the working tree has changes; commit the version bump (`pnpm version-packages`, then `git commit`) " +
      "so the tags point at it, and run `pnpm release` again\n"
  )
  process.exit(1)
}
if (!run(process.execPath, ["scripts/test.mjs"])) {
  process.stderr.write("release: the tests failed; nothing was published\n")
  process.exit(1)
}
const changeset = createRequire(import.meta.url).resolve("@changesets/cli/bin.js")
if (!run(process.execPath, [changeset, "publish"])) process.exit(1)
process.stderr.write("release: published and tagged; push the commit and its tags: git push --follow-tags\n")
