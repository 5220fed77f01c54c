// The platform tutorial's recipe, in Node: list the folder, then for each file one GET whose whole body is held in
// memory and written out, one after another. Usage: node sequential-loop.mjs DEST (APH_* variables set).
import * as Fs from "node:fs/promises"
import * as NodePath from "node:path"

const [dest] = process.argv.slice(2)
const base = process.env.APH_API_DAL_URL.replace(/\/?$/, "/")
const headers = { Authorization: `Bearer ${process.env.APH_DAL_TOKEN}` }
const folder = JSON.parse(process.env.APH_DATA).many

const keys = []
let next = `${base}datasets/${folder}`
while (next !== undefined) {
  const response = await fetch(next, { headers })
  if (!response.ok) throw new Error(`listing: HTTP ${response.status}`)
  keys.push(...(await response.json()))
  // RFC 8288, or the bare suffix to `datasets/` that the official client follows
  const link = response.headers.get("link") ?? ""
  const rfc = /<([^>]*)>\s*;\s*rel="next"/.exec(link)
  next = rfc !== null ? new URL(rfc[1], next).toString() : link === "" ? undefined : `${base}datasets/${link}`
}
for (const key of keys) {
  if (key.endsWith("/")) continue
  const response = await fetch(`${base}datasets/${key}`, { headers })
  if (!response.ok) throw new Error(`${key}: HTTP ${response.status}`)
  const body = Buffer.from(await response.arrayBuffer())
  await Fs.writeFile(NodePath.join(dest, key.slice(folder.length)), body)
}
