// Throughput of the two hot paths: streaming a large file and listing a large folder (one page and all pages).
// Run with `pnpm bench` (vitest bench); figures are per full download / listing on loopback.
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as Scope from "effect/Scope"
import * as fs from "node:fs/promises"
import { request } from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, bench, describe } from "vitest"
import { DalServer } from "../src/index.js"

const fileSize = 256 * 1024 * 1024
const listingSize = 10_000

let scope: Scope.CloseableScope
let server: DalServer.Running
let dir: string

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "fedkit-dal-bench-"))
  await fs.mkdir(path.join(dir, "data", "many"), { recursive: true })
  // sparse: the bench measures the server, not the disk
  await fs.writeFile(path.join(dir, "data", "big.bin"), "")
  await fs.truncate(path.join(dir, "data", "big.bin"), fileSize)
  for (let i = 0; i < listingSize; i++) {
    await fs.writeFile(path.join(dir, "data", "many", `file-${String(i).padStart(5, "0")}.csv`), "")
  }
  scope = Effect.runSync(Scope.make())
  server = await Effect.runPromise(
    DalServer.start({ root: dir }).pipe(
      Scope.extend(scope),
      Effect.provide(Logger.remove(Logger.defaultLogger))
    )
  )
})

afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await fs.rm(dir, { recursive: true, force: true })
})

/** GETs a path and counts the body bytes; resolves with the Link header. */
const get = (target: string) =>
  new Promise<{ bytes: number; link: string | undefined }>((resolve, reject) => {
    const url = new URL(target, server.url)
    request({ host: url.hostname, port: url.port, path: url.pathname + url.search, agent: false }, (res) => {
      let bytes = 0
      res.on("data", (chunk: Buffer) => (bytes += chunk.length))
      res.on("end", () => resolve({ bytes, link: res.headers.link as string | undefined }))
      res.on("error", reject)
    }).on("error", reject).end()
  })

describe("dal-server", () => {
  bench(`GET a ${fileSize / 1024 / 1024} MiB file`, async () => {
    const { bytes } = await get("/datasets/s3://data/big.bin")
    if (bytes !== fileSize) throw new Error(`got ${bytes} bytes`)
  }, { iterations: 5, time: 0 })

  bench(`list a folder of ${listingSize} files, all pages (page size 1000)`, async () => {
    let next: string | undefined = "/datasets/s3://data/many/"
    let pages = 0
    while (next !== undefined) {
      const { link } = await get(next)
      // the bare suffix form the official client appends to `datasets/`
      next = link === undefined ? undefined : `/datasets/${link}`
      pages++
    }
    if (pages !== listingSize / 1000) throw new Error(`got ${pages} pages`)
  }, { iterations: 5, time: 0 })
})
