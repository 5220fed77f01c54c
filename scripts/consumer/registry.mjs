// A real npm registry for the consumer test: verdaccio 6.8.0 on loopback, with its own storage and users in a temp
// folder. `@fedkit/*` is served only from what was published to it (never proxied, so a public package of the same
// name cannot stand in); everything else is proxied from registry.npmjs.org. Publishing needs a login: the test
// registers the one publisher account the config allows (`max_users: 1`) through npm's own login endpoint and gets
// a bearer token, as `npm adduser` would; anonymous users may only read.
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

export const PUBLISHER = "fedkit-release"

const config = `storage: ./storage
auth:
  htpasswd:
    file: ./htpasswd
    max_users: 1
uplinks:
  npmjs:
    url: https://registry.npmjs.org/
    timeout: 60s
packages:
  "@fedkit/*":
    access: $all
    publish: ${PUBLISHER}
    unpublish: ${PUBLISHER}
  "**":
    access: $all
    publish: ${PUBLISHER}
    proxy: npmjs
web:
  enable: false
log: { type: stdout, format: json, level: warn }
`

/** Starts the registry in `dir`; resolves to `{ url, token, stop }` once it answers and the publisher is logged in. */
export const startRegistry = async (dir) => {
  mkdirSync(dir, { recursive: true })
  const configPath = join(dir, "config.yaml")
  writeFileSync(configPath, config)
  const child = spawn(process.execPath, [fileURLToPath(new URL("verdaccio.mjs", import.meta.url)), configPath], {
    cwd: dir,
    stdio: ["pipe", "pipe", "pipe"]
  })
  let log = ""
  child.stderr.on("data", (chunk) => log += chunk)
  const url = await new Promise((resolve, reject) => {
    let out = ""
    const onData = (chunk) => {
      out += chunk
      const line = out.split("\n").find((l) => l.startsWith("http://"))
      if (line !== undefined) {
        child.stdout.off("data", onData)
        child.stdout.on("data", (more) => log += more)
        resolve(line.trim())
      }
    }
    child.stdout.on("data", onData)
    child.once("exit", (code) => reject(new Error(`verdaccio exited (${code}) before listening:\n${out}${log}`)))
  })
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve()
      child.once("exit", () => resolve())
      child.kill("SIGTERM")
    })
  try {
    const password = randomBytes(18).toString("base64url")
    const response = await fetch(new URL(`-/user/org.couchdb.user:${PUBLISHER}`, url), {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ _id: `org.couchdb.user:${PUBLISHER}`, name: PUBLISHER, password, type: "user", roles: [] })
    })
    const body = await response.json()
    if (response.status !== 201 || typeof body.token !== "string") {
      throw new Error(`registering the publisher failed: ${response.status} ${JSON.stringify(body)}`)
    }
    return { url, token: body.token, stop, log: () => log }
  } catch (error) {
    await stop()
    throw error
  }
}

/** The `.npmrc` lines for a client of the registry; with `token`, the client publishes as the publisher. */
export const npmrc = ({ url, token }, withToken = false) => {
  const host = url.replace(/^https?:/, "")
  return [`registry=${url}`, ...(withToken ? [`${host}:_authToken=${token}`] : []), ""].join("\n")
}
