// The baseline a user could write in ~40 lines: plain node:http with 16 keep-alive connections, each body piped to
// a temporary file and renamed. No retries, resume or checks. Usage: node plain-node-http.mjs DEST (APH_* set).
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as NodePath from "node:path"
import { pipeline } from "node:stream/promises"

const [dest] = process.argv.slice(2)
const base = process.env.APH_API_DAL_URL.replace(/\/?$/, "/")
const headers = { Authorization: `Bearer ${process.env.APH_DAL_TOKEN}` }
const folder = JSON.parse(process.env.APH_DATA).many
const agent = new Http.Agent({ keepAlive: true, maxSockets: 16 })

const get = (url) =>
  new Promise((resolve, reject) => {
    Http.get(url, { agent, headers }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`${url}: HTTP ${res.statusCode}`))
      else resolve(res)
    }).on("error", reject)
  })

const keys = []
for (let next = `${base}datasets/${folder}`; next !== undefined;) {
  const res = await get(next)
  let text = ""
  for await (const chunk of res) text += chunk
  keys.push(...JSON.parse(text))
  const link = res.headers.link
  next = link === undefined ? undefined : link.startsWith("<")
    ? new URL(/<([^>]*)>/.exec(link)[1], next).toString()
    : `${base}datasets/${link}`
}
const queue = keys.filter((key) => !key.endsWith("/"))
const worker = async () => {
  for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
    const target = NodePath.join(dest, key.slice(folder.length))
    await pipeline(await get(`${base}datasets/${key}`), Fs.createWriteStream(`${target}.part`))
    await Fs.promises.rename(`${target}.part`, target)
  }
}
await Promise.all(Array.from({ length: 16 }, worker))
agent.destroy()
