import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { DalServer } from "../src/index.js"
import { json, quiet, rawRequest, rawStatus, request } from "./support/http.js"

const treeToken = "tok-tree-9f8e7d6c5b4a"
const wideToken = "tok-wide-0a1b2c3d4e5f"

/** Everything the server logged, as JSON text, to check that no token ever reaches a log line. */
const logged: Array<string> = []
const capture = Logger.replace(
  Logger.defaultLogger,
  Logger.make(({ annotations, message }) =>
    logged.push(JSON.stringify({ message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) }))
  )
)

const tokens: ReadonlyArray<DalServer.TokenGrant> = [
  { name: "tree-reader", token: Redacted.make(treeToken), prefixes: ["s3://data/tree/"], derived: true },
  { name: "wide-reader", token: Redacted.make(wideToken), prefixes: ["s3://data/", "s3://other/x"] }
]

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

layer(
  DalServer.layerTest({
    files: {
      "s3://data/hello.txt": "hi",
      "s3://data/tree/a.csv": "a",
      "s3://other/x.txt": "x",
      "s3://other/y.txt": "y"
    },
    policies: { "s3://data/": { permissions: {} } },
    tokens
  }).pipe(Layer.provide(capture)),
  { excludeTestServices: true }
)("bearer tokens", (it) => {
  it.effect("no token: 401 with WWW-Authenticate: Bearer", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      for (const target of ["/datasets/s3://data/tree/a.csv", "/datasets/s3://data/", "/policies/s3://data/x"]) {
        const reply = yield* request(url, target)
        assert.strictEqual(reply.status, 401, target)
        assert.match(reply.headers["www-authenticate"] ?? "", /^Bearer /)
        assert.isString((json(reply) as { error: unknown }).error)
      }
    }))

  it.effect("a wrong token or another scheme is 401, invalid_token", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      for (
        const authorization of [`Bearer ${treeToken}x`, `Basic ${treeToken}`, "Bearer", `Bearer ${treeToken} extra`]
      ) {
        const reply = yield* request(url, "/datasets/s3://data/tree/a.csv", { headers: { authorization } })
        assert.strictEqual(reply.status, 401, authorization)
      }
    }))

  it.effect("a valid token reads inside its prefixes and gets 403 outside", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      const cases = [
        [treeToken, "/datasets/s3://data/tree/a.csv", 200],
        [treeToken, "/datasets/s3://data/tree/", 200],
        [treeToken, "/datasets/s3://data/hello.txt", 403],
        [treeToken, "/datasets/s3://data/", 403],
        [treeToken, "/policies/s3://data/hello.txt", 403],
        [treeToken, "/policies/s3://data/tree/a.csv", 200],
        [wideToken, "/datasets/s3://data/hello.txt", 200],
        [wideToken, "/datasets/s3://other/x.txt", 200],
        [wideToken, "/datasets/s3://other/y.txt", 403],
        [wideToken, "/datasets/s3://other/", 403]
      ] as const
      for (const [token, target, status] of cases) {
        const reply = yield* request(url, target, { headers: bearer(token) })
        assert.strictEqual(reply.status, status, `${target} with ${token === treeToken ? "tree" : "wide"}`)
      }
      const denied = yield* request(url, "/datasets/s3://data/hello.txt", { headers: bearer(treeToken) })
      assert.include((json(denied) as { error: string }).error, "tree-reader")
    }))

  it.effect("derived uploads need a token with derived: true", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      const body = new TextEncoder().encode("derived!")
      const none = yield* request(url, "/dataset/result/out.csv", { method: "PUT", body })
      assert.strictEqual(none.status, 401)
      const wide = yield* request(url, "/dataset/result/out.csv", { method: "PUT", body, headers: bearer(wideToken) })
      assert.strictEqual(wide.status, 403)
      const tree = yield* request(url, "/dataset/result/out.csv", { method: "PUT", body, headers: bearer(treeToken) })
      assert.strictEqual(tree.status, 201)
    }))

  it.effect("request log entries name the grant, and no log line or entry holds a token", () =>
    Effect.gen(function*() {
      const server = yield* DalServer.DalServer
      yield* request(server.url, "/datasets/s3://data/hello.txt", {
        headers: { ...bearer(wideToken), "x-request-id": "with-token" }
      })
      yield* request(server.url, "/datasets/s3://data/hello.txt", { headers: bearer(`${treeToken}-wrong`) })
      const entries = yield* server.requests
      assert.strictEqual(entries.find((e) => e.id === "with-token")?.grant, "wide-reader")
      assert.isAbove(logged.length, entries.length)
      for (const text of [...logged, JSON.stringify(entries)]) {
        assert.notInclude(text, treeToken)
        assert.notInclude(text, wideToken)
        assert.notInclude(text.toLowerCase(), "bearer")
      }
    }))
})

/** A data root with a secret beside it and symlinks that try to reach it. */
const escapeLayer = Layer.unwrapScoped(Effect.gen(function*() {
  const base = yield* Effect.acquireRelease(
    Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "fedkit-dal-escape-"))),
    (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
  )
  const root = path.join(base, "root")
  yield* Effect.promise(async () => {
    await fs.mkdir(path.join(root, "data", "inner"), { recursive: true })
    await fs.writeFile(path.join(root, "data", "hello.txt"), "hello")
    await fs.writeFile(path.join(base, "secret.txt"), "TOPSECRET")
    await fs.symlink(path.join(base, "secret.txt"), path.join(root, "data", "leak.txt"))
    await fs.symlink(base, path.join(root, "data", "leakdir"))
    await fs.symlink(path.join(root, "data", "hello.txt"), path.join(root, "data", "inner", "alias.txt"))
    await fs.symlink(path.join(root, "data"), path.join(root, "data", "inner", "loop"))
  })
  return DalServer.layer({ root, derivedDir: path.join(root, "derived") })
}))

layer(quiet(escapeLayer), { excludeTestServices: true })("path traversal", (it) => {
  const attempts = [
    "/datasets/s3://data/../../secret.txt",
    "/datasets/s3://data/inner/../../../secret.txt",
    "/datasets/s3://data/%2e%2e/%2e%2e/secret.txt",
    "/datasets/s3://data/%2E%2E%2F%2E%2E%2Fsecret.txt",
    "/datasets/s3://data/..%5c..%5csecret.txt",
    "/datasets/s3://data/..\\..\\secret.txt",
    "/datasets/s3://data/hello.txt%00.png",
    "/datasets/s3://../secret.txt",
    "/datasets/s3://%2e%2e/secret.txt",
    "/datasets/s3:///secret.txt",
    "/datasets//etc/passwd",
    "/datasets/%2Fetc%2Fpasswd",
    "/datasets/s3://data/leak.txt",
    "/datasets/s3://data/leakdir/secret.txt",
    "/datasets/s3://data/leakdir/",
    "/datasets/s3://data/./hello.txt",
    "/policies/s3://data/../../secret.txt"
  ]

  it.effect("raw traversal requests are refused with 400 or 404 and never leak the secret", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      for (const target of attempts) {
        const response = yield* rawRequest(url, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
        assert.include([400, 404], rawStatus(response), target)
        assert.notInclude(response, "TOPSECRET", target)
      }
    }))

  it.effect("listings skip symlinks that lead outside the root and do not loop", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      const listed = json(yield* request(url, "/datasets/s3://data/")) as Array<string>
      assert.deepStrictEqual(listed, ["s3://data/hello.txt", "s3://data/inner/alias.txt"])
      // a symlink inside the root is served
      const alias = yield* request(url, "/datasets/s3://data/inner/alias.txt")
      assert.strictEqual(alias.body.toString(), "hello")
    }))

  it.effect("upload names that could escape the derived folder are refused", () =>
    Effect.gen(function*() {
      const { root, url } = yield* DalServer.DalServer
      for (
        const target of [
          "/dataset/../evil.txt",
          "/dataset/ok/../../evil.txt",
          "/dataset/ok/%2e%2e/%2e%2e/evil.txt",
          "/dataset/ok/..%2F..%2Fevil.txt",
          "/dataset/ok/a%5cb.txt",
          "/dataset/ok/a%00b.txt",
          "/dataset/ok//evil.txt",
          "/dataset/ok/",
          "/dataset/not%20alnum/x.txt",
          "/dataset/ok/.fedkit-upload-x"
        ]
      ) {
        const response = yield* rawRequest(
          url,
          `PUT ${target} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nevil`
        )
        assert.strictEqual(rawStatus(response), 400, target)
      }
      const outside = yield* Effect.promise(() => fs.readdir(path.dirname(root)))
      assert.deepStrictEqual(outside.sort(), ["root", "secret.txt"])
    }))
})

const xToken = "tok-x-5e6f7a8b9c0d"
const bothToken = "tok-both-1a2b3c4d5e6f"

/** Two datasets under different policies; dataset x holds symlinks into dataset y, and one into itself. */
const crossLinkLayer = Layer.unwrapScoped(Effect.gen(function*() {
  const root = yield* Effect.acquireRelease(
    Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "fedkit-dal-crosslink-"))),
    (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
  )
  yield* Effect.promise(async () => {
    await fs.mkdir(path.join(root, "bkt", "x"), { recursive: true })
    await fs.mkdir(path.join(root, "bkt", "y"), { recursive: true })
    await fs.writeFile(path.join(root, "bkt", "x", "own.csv"), "x data")
    await fs.writeFile(path.join(root, "bkt", "y", "secret.csv"), "Y SECRET")
    await fs.symlink(path.join(root, "bkt", "y", "secret.csv"), path.join(root, "bkt", "x", "link.csv"))
    await fs.symlink(path.join(root, "bkt", "y"), path.join(root, "bkt", "x", "linkdir"))
    await fs.symlink(path.join(root, "bkt", "x", "own.csv"), path.join(root, "bkt", "x", "alias.csv"))
  })
  return DalServer.layer({
    root,
    tokens: [
      { name: "x-reader", token: Redacted.make(xToken), prefixes: ["s3://bkt/x/"] },
      { name: "both-reader", token: Redacted.make(bothToken), prefixes: ["s3://bkt/"] }
    ],
    policies: { "s3://bkt/x/": { permissions: { explore: true } }, "s3://bkt/y/": { permissions: { explore: false } } }
  })
}))

layer(quiet(crossLinkLayer), { excludeTestServices: true })("symlinks across datasets", (it) => {
  it.effect("a symlink into another dataset is neither served nor listed, whatever the token may read", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      for (const token of [xToken, bothToken]) {
        for (const target of ["/datasets/s3://bkt/x/link.csv", "/datasets/s3://bkt/x/linkdir/secret.csv"]) {
          const reply = yield* request(url, target, { headers: bearer(token) })
          assert.strictEqual(reply.status, 404, `${target} with ${token}`)
          assert.notInclude(reply.body.toString(), "Y SECRET")
        }
        const listed = json(yield* request(url, "/datasets/s3://bkt/x/", { headers: bearer(token) }))
        assert.deepStrictEqual(listed, ["s3://bkt/x/alias.csv", "s3://bkt/x/own.csv"], token)
      }
    }))

  it.effect("a symlink within its dataset is served; the other dataset stays readable directly", () =>
    Effect.gen(function*() {
      const { url } = yield* DalServer.DalServer
      const alias = yield* request(url, "/datasets/s3://bkt/x/alias.csv", { headers: bearer(xToken) })
      assert.strictEqual(alias.body.toString(), "x data")
      const direct = yield* request(url, "/datasets/s3://bkt/y/secret.csv", { headers: bearer(bothToken) })
      assert.strictEqual(direct.body.toString(), "Y SECRET")
    }))
})
