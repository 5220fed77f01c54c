import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as NodePath from "node:path"
import * as DalKey from "../src/DalKey.js"

// Segments built from characters that matter: separators, dots, escapes, URL delimiters, non-ASCII, NUL.
const nasty = ["/", "\\", ".", "..", "%", "%2e", "%2F", "#", "?", " ", ":", "\0", "é", "日本", "a", "b", "-", "~"]
const nastyString = FastCheck.array(FastCheck.constantFrom(...nasty), { maxLength: 8 }).map((parts) => parts.join(""))
const safeSegment = FastCheck.string({ minLength: 1, maxLength: 12 }).filter((s) =>
  !s.includes("/") && Either.isRight(DalKey.relativeSegments(s))
)

describe("DalKey.relativeSegments", () => {
  it.prop(
    "whatever it accepts stays inside the destination once joined",
    [FastCheck.oneof(nastyString, FastCheck.string())],
    ([relative]) => {
      const dest = "/dest/root"
      const checked = DalKey.relativeSegments(relative)
      if (Either.isLeft(checked)) return
      for (const segment of checked.right) {
        assert.notInclude(["", ".", ".."], segment)
        assert.notInclude(segment, "/")
        assert.notInclude(segment, "\\")
        assert.notInclude(segment, "\0")
      }
      const joined = NodePath.resolve(dest, ...checked.right)
      assert.isTrue(joined.startsWith(dest + NodePath.sep), `${JSON.stringify(relative)} -> ${joined}`)
      assert.deepStrictEqual(DalKey.localPath(dest, checked.right), Either.right(joined))
    },
    { fastCheck: { numRuns: 500 } }
  )

  it.prop(
    "accepts every path made of safe segments, unchanged",
    [FastCheck.array(safeSegment, { minLength: 1, maxLength: 5 })],
    ([segments]) => {
      assert.deepStrictEqual(DalKey.relativeSegments(segments.join("/")), Either.right(segments))
    }
  )

  it("refuses each kind of unsafe path", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["../etc/passwd", "contains '..'"],
      ["a/../../b", "contains '..'"],
      ["/etc/passwd", "is an absolute path"],
      ["C:/Windows", "starts with a drive letter"],
      ["a\\..\\b", "contains a backslash"],
      ["a\0b", "contains a NUL byte"],
      ["a//b", "has an empty path segment"],
      ["a/./b", "contains a '.' segment"],
      ["", "is empty"],
      [".fedkit-dal.jsonl", "uses a file name reserved by fedkit-dal"],
      ["x/data.bin.fedkit-part", "uses a file name reserved by fedkit-dal"]
    ]
    for (const [path, reason] of cases) assert.deepStrictEqual(DalKey.relativeSegments(path), Either.left(reason))
  })
})

describe("DalKey.entryOf", () => {
  it.prop(
    "a listed key is placed below its directory only when it starts with it",
    [nastyString, nastyString],
    ([dirPart, rest]) => {
      const dir = `s3://bkt/${dirPart}/`
      const placed = DalKey.entryOf(dir, dir + rest)
      if (Either.isRight(placed)) {
        assert.strictEqual(placed.right.key, dir + rest)
        assert.strictEqual(placed.right.directory, rest.endsWith("/"))
        assert.strictEqual(placed.right.segments.join("/") + (placed.right.directory ? "/" : ""), rest)
      }
      assert.isTrue(Either.isLeft(DalKey.entryOf(dir, `s3://other/${rest}`)))
    }
  )

  it("refuses keys outside the directory and the directory itself", () => {
    assert.deepStrictEqual(
      DalKey.entryOf("s3://b/ds/", "s3://b/dsx/file"),
      Either.left("is not below the requested directory \"s3://b/ds/\"")
    )
    assert.isTrue(Either.isLeft(DalKey.entryOf("s3://b/ds/", "s3://b/ds/")))
    assert.isTrue(Either.isLeft(DalKey.entryOf("s3://b/ds/", "s3://b/ds/../x")))
    assert.deepStrictEqual(
      DalKey.entryOf("s3://b/ds/", "s3://b/ds/a b/c#d.txt"),
      Either.right({ key: "s3://b/ds/a b/c#d.txt" as DalKey.DalKey, segments: ["a b", "c#d.txt"], directory: false })
    )
  })
})

describe("DalKey.encode", () => {
  const key = FastCheck.array(
    FastCheck.oneof(FastCheck.constantFrom(...nasty.filter((s) => s !== "/")), FastCheck.string()),
    {
      minLength: 1,
      maxLength: 5
    }
  ).map((segments) => `s3://bkt/${segments.join("/")}`)

  it.prop("round-trips segment by segment and survives URL parsing unchanged", [key], ([k]) => {
    const encoded = DalKey.encode(k)
    assert.deepStrictEqual(encoded.split("/").map(decodeURIComponent), k.split("/"))
    assert.match(encoded, /^[A-Za-z0-9\-._~!*'()%:/]*$/)
    if (Either.isRight(DalKey.relativeSegments(k.slice("s3://bkt/".length)))) {
      // The path the server receives is exactly what was encoded: no dot-segment folding, no re-encoding.
      assert.strictEqual(new URL(`http://h/datasets/${encoded}`).pathname, `/datasets/${encoded}`)
    }
  })

  it("keeps / and : and escapes the rest", () => {
    assert.strictEqual(DalKey.encode("s3://bkt/a b/c#d?e%f/日.txt"), "s3://bkt/a%20b/c%23d%3Fe%25f/%E6%97%A5.txt")
  })
})

describe("DalKey.fileName", () => {
  it("is the last segment, held to the same rules", () => {
    assert.deepStrictEqual(DalKey.fileName("s3://bkt/data/x.zip"), Either.right("x.zip"))
    assert.isTrue(Either.isLeft(DalKey.fileName("s3://bkt/data/..")))
    assert.isTrue(Either.isLeft(DalKey.fileName("s3://bkt/data/")))
  })
})
