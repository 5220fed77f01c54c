import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as fs from "node:fs/promises"
import { request as httpRequest } from "node:http"
import * as path from "node:path"
import { DalServer } from "../src/index.js"
import { bytes, enc, json, quiet, request } from "./support/http.js"

const put = (url: string, target: string, body: Uint8Array) => request(url, target, { method: "PUT", body })

/** Files in a folder, or [] when it does not exist yet. */
const listDir = (dir: string) => Effect.promise(() => fs.readdir(dir).catch(() => [] as Array<string>))

/** Polls (live clock) until `check` holds; the server works asynchronously after the client gives up. */
const eventually = <A>(effect: Effect.Effect<A>, check: (a: A) => boolean) =>
  effect.pipe(
    Effect.filterOrFail(check, () => "not yet" as const),
    Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 250 }),
    Effect.orDie
  )

layer(quiet(DalServer.layerTest({ files: { "s3://data/x.txt": "x" } })), { excludeTestServices: true })(
  "derived data uploads",
  (it) => {
    it.effect("PUT stores the body under ROOT/derived/<name>/<file> and it reads back as s3://derived/…", () =>
      Effect.gen(function*() {
        const { root, url } = yield* DalServer.DalServer
        const body = bytes(300_000)
        const reply = yield* put(url, "/dataset/model-output_1/metrics/final%20scores.csv", body)
        assert.strictEqual(reply.status, 201)
        assert.deepStrictEqual(json(reply), {
          name: "model-output_1",
          file: "metrics/final scores.csv",
          bytes: body.length,
          key: "s3://derived/model-output_1/metrics/final scores.csv"
        })
        const stored = yield* Effect.promise(() =>
          fs.readFile(path.join(root, "derived", "model-output_1", "metrics", "final scores.csv"))
        )
        assert.isTrue(Buffer.from(body).equals(stored))
        const back = yield* request(url, `/datasets/${enc("s3://derived/model-output_1/metrics/final scores.csv")}`)
        assert.isTrue(Buffer.from(body).equals(back.body))
        const entry = (yield* (yield* DalServer.DalServer).requests).find((e) => e.method === "PUT")
        assert.deepInclude(entry, { key: "model-output_1/metrics/final scores.csv", status: 201, bytes: body.length })
        assert.strictEqual(entry?.outcome, "complete")
        const listing = yield* request(url, "/datasets/s3://derived/model-output_1/")
        assert.deepStrictEqual(json(listing), [
          "s3://derived/model-output_1/metrics/final scores.csv"
        ])
      }))

    it.effect("a second PUT replaces the file", () =>
      Effect.gen(function*() {
        const { url } = yield* DalServer.DalServer
        yield* put(url, "/dataset/replace/out.txt", new TextEncoder().encode("first"))
        const second = yield* put(url, "/dataset/replace/out.txt", new TextEncoder().encode("second"))
        assert.strictEqual(second.status, 201)
        const back = yield* request(url, "/datasets/s3://derived/replace/out.txt")
        assert.strictEqual(back.body.toString(), "second")
      }))

    it.effect("a folder in the way is 409", () =>
      Effect.gen(function*() {
        const { url } = yield* DalServer.DalServer
        yield* put(url, "/dataset/clash/dir/inner.txt", new Uint8Array(1))
        const reply = yield* put(url, "/dataset/clash/dir", new Uint8Array(1))
        assert.strictEqual(reply.status, 409)
        const under = yield* put(url, "/dataset/clash/dir/inner.txt/below", new Uint8Array(1))
        assert.strictEqual(under.status, 409)
      }))

    it.effect("a client that disconnects mid-upload leaves neither the file nor a temp file", () =>
      Effect.gen(function*() {
        const { root, url } = yield* DalServer.DalServer
        const folder = path.join(root, "derived", "aborted")
        yield* put(url, "/dataset/aborted/keep.bin", new TextEncoder().encode("old version"))
        const target = new URL(url)
        const req = httpRequest({
          host: target.hostname,
          port: target.port,
          path: "/dataset/aborted/keep.bin",
          method: "PUT",
          headers: { "content-length": String(4 * 1024 * 1024) },
          agent: false
        })
        req.on("error", () => {})
        req.write(bytes(256 * 1024))
        // the server is streaming into its temp file…
        yield* eventually(listDir(folder), (names) => names.some((n) => n.startsWith(".fedkit-upload-")))
        req.destroy()
        // …and removes it once the client is gone; the previous version stays intact
        yield* eventually(listDir(folder), (names) => !names.some((n) => n.startsWith(".fedkit-upload-")))
        assert.deepStrictEqual(yield* listDir(folder), ["keep.bin"])
        const back = yield* request(url, "/datasets/s3://derived/aborted/keep.bin")
        assert.strictEqual(back.body.toString(), "old version")
        const entry = (yield* DalServer.DalServer.pipe(Effect.flatMap((s) => s.requests))).findLast((e) =>
          e.method === "PUT"
        )
        assert.strictEqual(entry?.outcome, "aborted")
      }))

    it.effect("GET on the upload endpoint is 405", () =>
      Effect.gen(function*() {
        const { url } = yield* DalServer.DalServer
        const reply = yield* request(url, "/dataset/x/y")
        assert.strictEqual(reply.status, 405)
        assert.strictEqual(reply.headers.allow, "PUT")
      }))
  }
)
