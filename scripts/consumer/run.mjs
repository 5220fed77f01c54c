#!/usr/bin/env node
// The consumer test: fedkit's packages as their users get them. Run by `scripts/test.mjs` after the build; alone:
// `node scripts/consumer/run.mjs` (after `pnpm build`).
//
// 1. Release rehearsal: a copy of the workspace's manifests, changesets and built packages goes through
//    `changeset version` and `changeset publish --no-git-tag` (the two halves of `pnpm release`) against a real
//    registry: verdaccio on loopback (registry.mjs). Each published tarball must carry its CHANGELOG.md and a manifest
//    without devDependencies, `workspace:` ranges or private package names.
// 2. For every published package, scratch projects outside the workspace install it with the exact `pnpm add` and
//    `npm install` lines of its README, and with a bare `npm install @fedkit/<pkg>` (whose node_modules size is
//    checked against the budget). No install may warn about peers, bring `@effect/cluster|rpc|sql|workflow`, or
//    contain a package with an install script; `effect` must resolve to 3.x.
// 3. The README's first example is type-checked with `tsc` (strict, `skipLibCheck: false`) under `node16` and
//    `bundler` resolution, and run on Node 20, 22 and 24 (nodes.mjs says where those come from).
import { spawn, spawnSync } from "node:child_process"
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { ensureNodes } from "./nodes.mjs"
import { firstExample, installLines } from "./readme.mjs"
import { npmrc, startRegistry } from "./registry.mjs"

const root = fileURLToPath(new URL("../..", import.meta.url))
const requireFromRoot = createRequire(join(root, "package.json"))
const ts = requireFromRoot("typescript")
const tscBin = requireFromRoot.resolve("typescript/bin/tsc")
const changesetBin = requireFromRoot.resolve("@changesets/cli/bin.js")

const MB = 1_000_000
const BUDGET_FIXED = { "@fedkit/dal-client": 45 * MB, "@fedkit/dal-server": 45 * MB }
const BUDGET_OVER_EFFECT = 10 * MB
const FORBIDDEN = /^@effect\/(cluster|rpc|sql|workflow)$/
// Installs wait on the network, type checks and example runs on the CPU: two of each at a time suit a 2-core machine.
const PARALLEL = 2

const started = Date.now()
const failures = []
const say = (line) => process.stderr.write(`[consumer] ${Math.round((Date.now() - started) / 1000)}s ${line}\n`)
const fail = (line) => {
  failures.push(line)
  say(`FAIL ${line}`)
}

const run = (command, args, { cwd, env, timeoutMs = 300_000 } = {}) =>
  new Promise((resolve) => {
    // In a process group of its own: a timeout kills what it started too (an `npm` below `sh -c` would otherwise
    // keep the output pipes open, and the run would wait for it forever).
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true })
    let stdout = ""
    let stderr = ""
    let timedOut = false
    child.stdout.on("data", (chunk) => stdout += chunk)
    child.stderr.on("data", (chunk) => stderr += chunk)
    const timer = setTimeout(() => {
      timedOut = true
      try {
        process.kill(-child.pid, "SIGKILL")
      } catch {
        child.kill("SIGKILL")
      }
    }, timeoutMs)
    child.on("error", (error) => stderr += String(error))
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      if (timedOut) stderr += `\n(killed after ${timeoutMs / 1000} s)`
      resolve({ code: code ?? 128, signal, timedOut, stdout, stderr, output: stdout + stderr })
    })
  })

const pool = async (items, limit, task) => {
  const queue = [...items]
  await Promise.all(Array.from({ length: limit }, async () => {
    while (queue.length > 0) await task(queue.shift())
  }))
}

const readJson = (file) => JSON.parse(readFileSync(file, "utf8"))
const tail = (text, lines = 15) => text.trim().split("\n").slice(-lines).join("\n")

// Every package folder below node_modules (npm's nested layout and pnpm's .pnpm store alike), as [dir, manifest].
const installedPackages = (nodeModules) => {
  const found = []
  const visit = (dir) => {
    if (!existsSync(dir)) return
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === ".bin" || entry.name === ".cache") continue
      const path = join(dir, entry.name)
      if (entry.name === ".pnpm") {
        for (const slot of readdirSync(path, { withFileTypes: true })) {
          if (slot.isDirectory()) visit(join(path, slot.name, "node_modules"))
        }
      } else if (entry.name.startsWith("@")) {
        visit(path)
      } else if (existsSync(join(path, "package.json"))) {
        found.push([path, readJson(join(path, "package.json"))])
        visit(join(path, "node_modules"))
      }
    }
  }
  visit(nodeModules)
  return found
}

// Bytes of the files below dir, symbolic links not followed (pnpm links each package once).
const sizeOf = (dir) => {
  let bytes = 0
  const visit = (path) => {
    const stat = lstatSync(path)
    if (stat.isDirectory()) { for (const entry of readdirSync(path)) visit(join(path, entry)) }
    else if (stat.isFile()) bytes += stat.size
  }
  if (existsSync(dir)) visit(dir)
  return bytes
}
const mb = (bytes) => `${(bytes / MB).toFixed(1)} MB`

const workspaceDirs = ["packages", "apps", "tooling"].flatMap((group) =>
  readdirSync(join(root, group), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(root, group, entry.name, "package.json")))
    .map((entry) => `${group}/${entry.name}`)
)
const manifests = new Map(workspaceDirs.map((dir) => [dir, readJson(join(root, dir, "package.json"))]))
const privateNames = new Set([...manifests.values()].filter((pkg) => pkg.private).map((pkg) => pkg.name))
const publishable = [...manifests].filter(([, pkg]) => !pkg.private).map(([dir, pkg]) => ({ dir, name: pkg.name }))
// FEDKIT_CONSUMER_ONLY=dal-server,flare-config: install and run only those (every package is still published).
const only = process.env.FEDKIT_CONSUMER_ONLY?.split(",").map((name) => `@fedkit/${name.trim()}`)
const consumed = publishable.filter((pkg) => only === undefined || only.includes(pkg.name))
const dirOfName = new Map([...manifests].map(([dir, pkg]) => [pkg.name, dir]))

const scratch = mkdtempSync(join(tmpdir(), "fedkit-consumer-"))
const tools = join(scratch, "tools")

// PATH entries that make `node` one release and `npm`/`pnpm` the clients this test drives, on that node.
const npmCli = [join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "bin", "npm-cli.js")]
  .find((file) => existsSync(file))
// pnpm's own script when this runs under `pnpm test`; else the pinned pnpm that `npx` keeps in its cache.
const pnpmCli = /pnpm\.c?js$/.test(process.env.npm_execpath ?? "")
  ? process.env.npm_execpath
  : realpathSync(
    spawnSync("npx", ["-y", "-p", "pnpm@10.34.8", "sh", "-c", "command -v pnpm"], { encoding: "utf8" }).stdout.trim()
  )
const shim = (name, command) => {
  writeFileSync(join(tools, "bin", name), `#!/bin/sh\nexec ${command} "$@"\n`)
  chmodSync(join(tools, "bin", name), 0o755)
}
mkdirSync(join(tools, "bin"), { recursive: true })
shim("npm", npmCli === undefined ? "npm" : `node "${npmCli}"`)
shim("pnpm", `node "${pnpmCli}"`)

// The environment of a client run: the outer pnpm's npm_config_* and lifecycle variables would leak settings.
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^(npm_|pnpm_|PNPM_|INIT_CWD$|COREPACK_)/i.test(key))
)
const envFor = (node, extra = {}) => ({
  ...cleanEnv,
  PATH: `${dirname(node.link)}:${join(tools, "bin")}:${process.env.PATH}`,
  NO_UPDATE_NOTIFIER: "1",
  npm_config_update_notifier: "false",
  npm_config_fund: "false",
  npm_config_audit: "false",
  ...extra
})

const rehearseRelease = async (registry, node) => {
  const stage = join(scratch, "release")
  mkdirSync(stage)
  for (const file of ["package.json", "pnpm-workspace.yaml", "pnpm-lock.yaml", ".pnpmfile.cjs", "LICENSE"]) {
    cpSync(join(root, file), join(stage, file))
  }
  cpSync(join(root, ".changeset"), join(stage, ".changeset"), { recursive: true })
  for (const [dir, pkg] of manifests) {
    mkdirSync(join(stage, dir), { recursive: true })
    const parts = pkg.private
      ? ["package.json"]
      : ["package.json", "README.md", "CHANGELOG.md", "LICENSE", ...pkg.files.filter((file) => !file.startsWith("!"))]
    for (const part of parts) {
      if (existsSync(join(root, dir, part))) cpSync(join(root, dir, part), join(stage, dir, part), { recursive: true })
    }
  }
  // `pnpm publish` reads the version a `workspace:` range stands for from the dependency's node_modules link.
  for (const [dir, pkg] of manifests) {
    for (const field of ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"]) {
      for (const [name, range] of Object.entries(pkg[field] ?? {})) {
        if (!String(range).startsWith("workspace:")) continue
        const link = join(stage, dir, "node_modules", name)
        if (existsSync(link)) continue
        mkdirSync(dirname(link), { recursive: true })
        symlinkSync(join(stage, dirOfName.get(name)), link)
      }
    }
  }
  // The publisher's user config, as `npm login` would leave it in ~/.npmrc.
  writeFileSync(join(scratch, "publisher.npmrc"), npmrc(registry, true))
  const env = envFor(node, {
    npm_config_userconfig: join(scratch, "publisher.npmrc"),
    npm_config_registry: registry.url
  })
  const versioned = await run(node.bin, [changesetBin, "version"], { cwd: stage, env })
  if (versioned.code !== 0) return fail(`changeset version: exit ${versioned.code}\n${tail(versioned.output)}`)
  const published = await run(node.bin, [changesetBin, "publish", "--no-git-tag"], { cwd: stage, env })
  if (published.code !== 0) return fail(`changeset publish: exit ${published.code}\n${tail(published.output, 40)}`)
  const versions = new Map()
  for (const { dir, name } of publishable) {
    const version = readJson(join(stage, dir, "package.json")).version
    versions.set(name, version)
    const packument = await (await fetch(new URL(name.replace("/", "%2f"), registry.url))).json()
    const manifest = packument.versions?.[version]
    if (manifest === undefined) {
      fail(`${name}@${version} is not on the registry after changeset publish`)
      continue
    }
    const tarball = join(scratch, `${name.replace(/\W/g, "_")}.tgz`)
    writeFileSync(tarball, Buffer.from(await (await fetch(manifest.dist.tarball)).arrayBuffer()))
    const listing = (await run("tar", ["-tzf", tarball])).stdout.split("\n")
    const binaries = Object.values(manifest.bin ?? {}).map((file) => `package/${file.replace(/^\.\//, "")}`)
    const expected = ["CHANGELOG.md", "README.md", "package.json", "dist/index.js"].map((file) => `package/${file}`)
    for (const file of [...expected, ...binaries]) {
      if (!listing.includes(file)) fail(`${name}@${version}: the published tarball has no ${file.slice(8)}`)
    }
    if (manifest.devDependencies !== undefined) fail(`${name}@${version}: the published manifest has devDependencies`)
    for (const field of ["dependencies", "peerDependencies", "optionalDependencies"]) {
      for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
        if (privateNames.has(dep)) fail(`${name}@${version}: ${field} names the private package ${dep}`)
        if (String(range).startsWith("workspace:")) fail(`${name}@${version}: ${field}.${dep} is ${range}`)
      }
    }
  }
  say(
    `release rehearsal: changeset version and publish of ${
      [...versions].map(([name, version]) => `${name}@${version}`).join(", ")
    }`
  )
  return versions
}

const install = async (project, registry) => {
  mkdirSync(project.dir, { recursive: true })
  writeFileSync(
    join(project.dir, "package.json"),
    JSON.stringify({ name: `consumer-${project.id}`, private: true, type: "module" }, null, 2)
  )
  // engine-strict: the client refuses a package whose `engines` excludes the Node it runs on.
  writeFileSync(join(project.dir, ".npmrc"), `${npmrc(registry)}engine-strict=true\n`)
  const install = () =>
    run("sh", ["-c", project.line], { cwd: project.dir, env: envFor(project.node), timeoutMs: 150_000 })
  let result = await install()
  if (result.timedOut) {
    // The local registry proxies everything but fedkit from registry.npmjs.org, which can stall: once more.
    say(`${project.id}: the install stalled; once more`)
    rmSync(join(project.dir, "node_modules"), { recursive: true, force: true })
    result = await install()
  }
  const label = `${project.id} (${project.line}, Node ${project.node.major})`
  if (result.code !== 0) return fail(`${label}: exit ${result.code}\n${tail(result.output)}`)
  if (/unmet peer|ERESOLVE|Issues with peer|incorrect peer|EBADENGINE|Ignored build scripts/i.test(result.output)) {
    fail(`${label}: the install warned\n${tail(result.output)}`)
  }
  const packages = installedPackages(join(project.dir, "node_modules"))
  const effect = packages.find(([, pkg]) => pkg.name === "effect")
  if (effect === undefined || !effect[1].version.startsWith("3.")) {
    fail(`${label}: effect resolved to ${effect?.[1].version ?? "nothing"}, not 3.x`)
  }
  for (const [dir, pkg] of packages) {
    if (FORBIDDEN.test(pkg.name)) fail(`${label}: installed ${pkg.name}`)
    const scripts = ["preinstall", "install", "postinstall"].filter((name) => pkg.scripts?.[name] !== undefined)
    if (scripts.length > 0 || existsSync(join(dir, "binding.gyp"))) {
      fail(`${label}: ${pkg.name}@${pkg.version} has an install script (${scripts.join(", ") || "binding.gyp"})`)
    }
  }
  project.installed = true
  project.packageCount = new Set(packages.map(([, pkg]) => `${pkg.name}@${pkg.version}`)).size
  project.bytes = sizeOf(join(project.dir, "node_modules"))
  project.effectBytes = effect === undefined ? 0 : sizeOf(effect[0])
}

const tsconfig = (resolution, files) => ({
  compilerOptions: {
    strict: true,
    skipLibCheck: false,
    noEmit: true,
    target: "es2022",
    lib: ["es2022"],
    module: resolution === "node16" ? "node16" : "esnext",
    moduleResolution: resolution,
    types: ["node"],
    typeRoots: [join(root, "node_modules", "@types")]
  },
  files
})

// What each README's first example prints when it works.
const EXPECTED = {
  "@fedkit/dal-client": /^\d+ files in .*data$/m,
  "@fedkit/dal-server": /^http:\/\/127\.0\.0\.1:\d+\/$/m,
  "@fedkit/flare-config": /"config_fed_server\.json"/,
  "@fedkit/runtime-core":
    /^10 app\/config\/config_fed_client\.json app\/config\/config_fed_server\.json app\/custom\/train\.py meta\.json$/m,
  "@fedkit/job-packager": /out\/hello\.zip sha256:[0-9a-f]{64}$/m
}
// Runs the example; a module that exports `program` (flare-config's) has it run and its result's keys printed.
const MAIN = `const example = await import("./example.js")
if (example.program !== undefined) {
  const { Effect } = await import("effect")
  console.log(JSON.stringify(Object.keys(await Effect.runPromise(example.program))))
}
console.log("example ran")
`

const checkExample = async (project, nodes, env) => {
  const files = firstExample(join(root, project.pkg.dir, "README.md"))
  for (const { file, code } of files) {
    writeFileSync(join(project.dir, file), code)
    const js = ts.transpileModule(code, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false }
    })
    writeFileSync(join(project.dir, file.replace(/\.ts$/, ".js")), js.outputText)
  }
  writeFileSync(join(project.dir, "main.mjs"), MAIN)
  // Examples read and write relative to where they run (dal-server's serves `./data`).
  mkdirSync(join(project.dir, "data"), { recursive: true })
  // Types are checked in pnpm's strict layout only: a package that reaches an undeclared dependency fails there, and
  // npm's flat layout would only repeat the same files at about 10 CPU-seconds a check.
  for (const resolution of project.client === "pnpm" ? ["node16", "bundler"] : []) {
    const config = `tsconfig.${resolution}.json`
    writeFileSync(join(project.dir, config), JSON.stringify(tsconfig(resolution, files.map((f) => f.file)), null, 2))
    const checked = await run(process.execPath, [tscBin, "-p", config], { cwd: project.dir })
    if (checked.code !== 0) fail(`${project.id}: tsc (${resolution}) failed\n${tail(checked.output, 20)}`)
    else project.typechecked.push(resolution)
  }
  for (const node of nodes) {
    const ran = await run(node.bin, ["main.mjs"], { cwd: project.dir, env: { ...cleanEnv, ...env }, timeoutMs: 60_000 })
    if (ran.code !== 0 || !EXPECTED[project.pkg.name].test(ran.stdout)) {
      fail(`${project.id}: the README example failed on Node ${node.version} (exit ${ran.code})\n${tail(ran.output)}`)
    } else project.ranOn.push(node.major)
  }
}

// A DAL for dal-client's example, served by the dal-server a consumer installed from the registry.
const startDal = async (dalServerProject) => {
  const dal = join(scratch, "dal")
  mkdirSync(join(dal, "root", "bkt", "ds004", "imagesTr"), { recursive: true })
  writeFileSync(join(dal, "root", "bkt", "ds004", "dataset.json"), "{}\n")
  writeFileSync(join(dal, "root", "bkt", "ds004", "imagesTr", "a.csv"), "x,y\n1,2\n")
  const token = "consumer-test-token"
  writeFileSync(
    join(dal, "tokens.json"),
    JSON.stringify({ tokens: [{ name: "consumer", token, prefixes: ["s3://bkt/"] }] })
  )
  writeFileSync(
    join(dal, "policies.json"),
    JSON.stringify({
      policies: { "s3://bkt/ds004/": { permissions: { restrict_functions: true, allowed_function_names: ["train"] } } }
    })
  )
  const bin = join(dalServerProject.dir, "node_modules", ".bin", "fedkit-dal-server")
  const child = spawn(bin, [
    "--root",
    join(dal, "root"),
    "--tokens",
    join(dal, "tokens.json"),
    "--policies",
    join(dal, "policies.json")
  ], {
    stdio: ["ignore", "pipe", "pipe"],
    env: cleanEnv
  })
  let stderr = ""
  child.stderr.on("data", (chunk) => stderr += chunk)
  const url = await new Promise((resolve, reject) => {
    let out = ""
    child.stdout.on("data", (chunk) => {
      out += chunk
      if (out.includes("\n")) resolve(out.split("\n")[0].trim())
    })
    child.once("exit", (code) => reject(new Error(`fedkit-dal-server exited (${code}):\n${stderr}`)))
    child.once("error", (error) => reject(new Error(`fedkit-dal-server did not start: ${error.message}`)))
  })
  return {
    env: { APH_API_DAL_URL: url, APH_DAL_TOKEN: token, APH_DATA: JSON.stringify({ hippocampus: "s3://bkt/ds004/" }) },
    stop: () =>
      new Promise((
        resolve
      ) => (child.exitCode !== null ? resolve() : (child.once("exit", resolve), child.kill("SIGTERM"))))
  }
}

let registry
let dal
try {
  const nodes = ensureNodes()
  for (const node of nodes) {
    node.link = join(tools, `node-${node.major}`, "node")
    mkdirSync(dirname(node.link))
    symlinkSync(node.bin, node.link)
  }
  say(`Node ${nodes.map((node) => node.version).join(", ")}; scratch projects in ${scratch}`)
  registry = await startRegistry(join(scratch, "registry"))
  say(`registry ${registry.url} (verdaccio, publisher logged in)`)
  const versions = await rehearseRelease(registry, nodes[0])
  if (versions instanceof Map) {
    // Each client runs on each Node release across the packages (engine-strict makes `engines` count).
    const projects = consumed.flatMap((pkg, index) => {
      const short = pkg.name.split("/")[1]
      const lines = installLines(join(root, pkg.dir, "README.md"))
      const make = (client, line, offset) => ({
        id: `${client}-${short}`,
        client,
        pkg,
        line,
        node: nodes[(index + offset) % nodes.length],
        dir: join(scratch, "projects", `${client}-${short}`),
        typechecked: [],
        ranOn: []
      })
      return [
        make("pnpm", lines.pnpm, 0),
        make("npm", lines.npm, 1),
        make("npm-alone", `npm install ${pkg.name}`, 2)
      ]
    })
    await pool(projects, PARALLEL + 1, (project) => install(project, registry))
    say(`installed ${projects.filter((p) => p.installed).length}/${projects.length} scratch projects`)

    const dalServer = projects.find((p) => p.id === "npm-dal-server" && p.installed)
    if (dalServer !== undefined) dal = await startDal(dalServer)
    const withExamples = projects.filter((p) => p.client !== "npm-alone" && p.installed)
    await pool(withExamples, PARALLEL, (project) => checkExample(project, nodes, dal?.env ?? {}))
    say("examples type-checked and run")

    process.stdout.write("\nconsumer installs (README lines), examples type-checked and run:\n")
    for (const project of projects.filter((p) => p.client !== "npm-alone")) {
      process.stdout.write(
        `  ${project.id.padEnd(24)} install on Node ${project.node.major}: ${project.installed ? "ok" : "FAILED"}; ` +
          `tsc ${project.typechecked.join("+") || "-"}; ran on Node ${project.ranOn.join(", ") || "-"}\n`
      )
    }
    const effectBytes = Math.max(...projects.map((p) => p.effectBytes ?? 0))
    process.stdout.write(`\n\`npm install @fedkit/<pkg>\` alone (effect itself: ${mb(effectBytes)}):\n`)
    for (const project of projects.filter((p) => p.client === "npm-alone" && p.installed)) {
      const budget = BUDGET_FIXED[project.pkg.name] ?? effectBytes + BUDGET_OVER_EFFECT
      const within = project.bytes <= budget
      process.stdout.write(
        `  ${project.pkg.name.padEnd(24)} ${mb(project.bytes).padStart(8)} in ${project.packageCount} packages ` +
          `(budget ${mb(budget)}) ${within ? "ok" : "OVER BUDGET"}\n`
      )
      if (!within) {
        fail(`${project.pkg.name}: node_modules is ${mb(project.bytes)}, over the budget of ${mb(budget)}`)
      }
    }
  }
} catch (error) {
  fail(error instanceof Error ? error.message : String(error))
} finally {
  await dal?.stop()
  await registry?.stop()
  if (process.env.FEDKIT_CONSUMER_KEEP === undefined) rmSync(scratch, { recursive: true, force: true })
}
const seconds = Math.round((Date.now() - started) / 1000)
process.stdout.write(`consumer test: ${failures.length === 0 ? "ok" : `${failures.length} FAILED`} in ${seconds} s\n`)
process.exit(failures.length === 0 ? 0 : 1)
