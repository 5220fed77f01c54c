// Runs a CLI bundled by bundle.mjs (a CommonJS file beside this one) with V8's code cache, so that from the second
// run on the bundle is neither parsed nor compiled again. `bundle.mjs --bin` writes this file beside the bundle, with
// the constants below filled in. It is CommonJS, as the bundle, so that a command started through it never sets up
// Node's ES module loader (~20 ms).
//
// Why not Node's own `module.enableCompileCache()`: it arrived in Node 22.1, and fedkit supports Node 20. This is the
// same mechanism (`vm.Script` with `cachedData`), kept where only the user running the command can write:
// `$XDG_CACHE_HOME/fedkit/v8` or `~/.cache/fedkit/v8`, created 0700, and used only if it is a real directory owned by
// that user and writable by nobody else (a cache that others could write would be code they could run). The file's
// name carries the bundle's digest, the Node version, the architecture and Node's flags, so a new build or Node never
// reads an old cache; V8 checks it again and ignores one it cannot use. `NODE_DISABLE_COMPILE_CACHE=1` (Node's own switch) turns
// it off. Any failure to use or write the cache only costs the time it would have saved.
"use strict"
const Fs = require("node:fs")
const { createRequire } = require("node:module")
const Os = require("node:os")
const Path = require("node:path")
const Vm = require("node:vm")

const BUNDLE_FILE = "__FEDKIT_BUNDLE_FILE__"
const BUNDLE_DIGEST = "__FEDKIT_BUNDLE_DIGEST__"
// "latin1" for an ASCII bundle: a one-byte string, made without UTF-8 decoding
const BUNDLE_ENCODING = "__FEDKIT_BUNDLE_ENCODING__"

const privateCacheDirectory = () => {
  if (process.env.NODE_DISABLE_COMPILE_CACHE) return undefined
  try {
    const xdg = process.env.XDG_CACHE_HOME
    const base = xdg && Path.isAbsolute(xdg) ? xdg : Path.join(Os.homedir(), ".cache")
    const directory = Path.join(base, "fedkit", "v8")
    Fs.mkdirSync(directory, { recursive: true, mode: 0o700 })
    const stat = Fs.lstatSync(directory)
    const ownedByUs = typeof process.getuid !== "function" || stat.uid === process.getuid()
    return stat.isDirectory() && ownedByUs && (stat.mode & 0o022) === 0 ? directory : undefined
  } catch {
    return undefined
  }
}

// V8 refuses a cache made under other V8 flags: the flags are part of the file's name, so runs with different
// flags (a shebang's, a test's) keep a cache each instead of replacing each other's.
const runtimeDigest = () => {
  let hash = 0x811c9dc5
  for (const char of process.execArgv.join(" ")) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0
  return `node${process.version}-${process.arch}-${hash.toString(16)}`
}

const readCache = (file) => {
  try {
    return Fs.readFileSync(file)
  } catch {
    return undefined
  }
}

// Written at exit, after the run compiled the functions it used, so the cache holds them too; written to a file of
// this process's own and renamed, so a concurrent run never reads half of one.
const writeCacheAtExit = (script, file) =>
  process.once("exit", () => {
    const partial = `${file}.${process.pid}.partial`
    try {
      Fs.writeFileSync(partial, script.createCachedData(), { mode: 0o600, flag: "wx" })
      Fs.renameSync(partial, file)
    } catch {
      try {
        Fs.rmSync(partial, { force: true })
      } catch {
        // an exit handler must not throw: the command's own exit code stands
      }
    }
  })

const bundle = Path.join(__dirname, BUNDLE_FILE)
const directory = privateCacheDirectory()
const cacheFile = directory && Path.join(directory, `${BUNDLE_DIGEST}-${runtimeDigest()}.v8cache`)
const cachedData = cacheFile && readCache(cacheFile)
const script = new Vm.Script(
  `(function (exports, require, module, __filename, __dirname) {${Fs.readFileSync(bundle, BUNDLE_ENCODING)}\n})`,
  { filename: bundle, cachedData }
)
if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) writeCacheAtExit(script, cacheFile)
const bundleModule = { exports: {} }
script.runInThisContext()(bundleModule.exports, createRequire(bundle), bundleModule, bundle, Path.dirname(bundle))
