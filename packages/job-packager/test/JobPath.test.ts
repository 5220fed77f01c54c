import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { posix } from "node:path"
import { JobPath } from "../src/index.js"

describe("JobPath.check", () => {
  it("places every file of FLARE's layout", () => {
    assert.deepStrictEqual(JobPath.check("meta.json"), Either.right({ _tag: "Meta" } as const))
    assert.deepStrictEqual(
      JobPath.check("app/config/config_fed_server.json"),
      Either.right({ _tag: "Config", app: "app", file: "config_fed_server.json" } as const)
    )
    assert.deepStrictEqual(
      JobPath.check("app_site-1/config/environment.json"),
      Either.right({ _tag: "Config", app: "app_site-1", file: "environment.json" } as const)
    )
    assert.deepStrictEqual(
      JobPath.check("app/custom/pkg/__init__.py"),
      Either.right({ _tag: "Custom", app: "app", file: "pkg/__init__.py" } as const)
    )
    assert.deepStrictEqual(
      JobPath.check("app/custom/données/été.csv"),
      Either.right({ _tag: "Custom", app: "app", file: "données/été.csv" } as const)
    )
  })

  const hostile: ReadonlyArray<readonly [string, string, RegExp]> = [
    ["empty", "", /empty/],
    ["absolute", "/etc/passwd", /absolute/],
    ["absolute inside the layout", "/app/custom/x.py", /absolute/],
    ["drive letter", "C:/app/custom/x.py", /absolute/],
    ["parent at the start", "../meta.json", /climbs out/],
    ["parent in the middle", "app/custom/../../../etc/passwd", /climbs out/],
    ["parent at the end", "app/custom/..", /climbs out/],
    ["backslash separators", "app\\config\\config_fed_server.json", /backslash/],
    ["backslash traversal", "app/custom/..\\..\\x", /backslash/],
    ["NUL", "app/custom/x.py\u0000.txt", /control character/],
    ["newline", "app/custom/x\n.py", /control character/],
    ["escape sequence", "app/custom/\u001b[31mred.py", /control character/],
    ["C1 control", "app/custom/\u0085x.py", /control character/],
    ["double slash", "app//config/config_fed_server.json", /not normalized/],
    ["dot segment", "./meta.json", /not normalized/],
    ["trailing slash", "app/custom/lib/", /not normalized/],
    ["decomposed Unicode", "app/custom/cafe\u0301.py", /normal form C/],
    ["colon", "app/custom/a:b.py", /one of/],
    ["wildcard", "app/custom/*.py", /one of/],
    ["pipe", "app/custom/a|b.py", /one of/],
    ["long segment", `app/custom/${"a".repeat(256)}`, /longer than 255/],
    ["long path", `app/custom/${"abcdefgh/".repeat(120)}x.py`, /longer than 1024/],
    ["other root file", "notes.txt", /only meta\.json/],
    ["hidden app", ".app/config/config_fed_server.json", /app name/],
    ["app name with space", "my app/config/config_fed_server.json", /app name/],
    ["nested config", "app/config/sub/config_fed_server.json", /config file/],
    ["config not JSON", "app/config/config_fed_server.conf", /config file/],
    ["bare config folder", "app/config", /config file/],
    ["bare custom folder", "app/custom", /custom file/],
    ["other app folder", "app/local/resources.json", /not part of a FLARE job/],
    ["FLARE signature", "app/custom/.__nvfl_sig.json", /signature/],
    ["nested FLARE signature", "app/custom/lib/.__nvfl_submitter.crt", /signature/]
  ]
  for (const [label, path, reason] of hostile) {
    it(`refuses ${label}`, () => {
      const result = JobPath.check(path)
      assert.isTrue(Either.isLeft(result), `${JSON.stringify(path)} was accepted`)
      if (Either.isLeft(result)) assert.match(result.left, reason)
    })
  }

  // Zip-slip as a property: whatever string comes in, an accepted path resolves strictly inside the job folder.
  it.prop(
    "every accepted path stays inside the job folder",
    [Schema.String, FastCheck.constantFrom("", "app/custom/", "../", "/", "app/config/", "a/..", "\\")],
    ([tail, head]) => {
      const path = head + tail
      if (Either.isRight(JobPath.check(path))) {
        assert.strictEqual(posix.normalize(path), path)
        assert.isTrue(posix.resolve("/job", path).startsWith("/job/"))
        assert.notInclude(path, "\\")
      }
    },
    { fastCheck: { numRuns: 500 } }
  )
})

describe("JobPath.checkFolder", () => {
  it("accepts folders a job has and refuses others", () => {
    for (const folder of ["app", "app/config", "app/custom", "app/custom/lib/deep"]) {
      assert.isTrue(Either.isRight(JobPath.checkFolder(folder)), folder)
    }
    for (const folder of ["app/other", "../app", "app/custom/..", "app/config/sub", ".x"]) {
      assert.isTrue(Either.isLeft(JobPath.checkFolder(folder)), folder)
    }
  })
})

describe("JobPath.collisions", () => {
  it("finds names equal but for case, and files that would have to be folders", () => {
    const problems = JobPath.collisions([
      "app/custom/Model.py",
      "app/custom/model.py",
      "app/custom/lib",
      "app/custom/lib/x.py",
      "meta.json"
    ])
    assert.deepStrictEqual(problems.map(([path]) => path).sort(), ["app/custom/lib", "app/custom/model.py"])
    assert.match(problems.find(([path]) => path === "app/custom/model.py")![1], /case-insensitive/)
    assert.match(problems.find(([path]) => path === "app/custom/lib")![1], /folder/)
  })

  it("finds nothing in a clean job", () => {
    assert.deepStrictEqual(JobPath.collisions(["meta.json", "app/config/a.json", "app/custom/a/b.py"]), [])
  })
})

describe("JobPath.compare", () => {
  it("orders by UTF-8 bytes, not UTF-16 units", () => {
    // In UTF-16 U+1F600 (surrogates D83D DE00) sorts before U+FF5E; in UTF-8 (F0 9F … vs EF BD …) after it.
    const sorted = ["app/custom/\u{1F600}", "app/custom/\uFF5E"].sort(JobPath.compare)
    assert.deepStrictEqual(sorted, ["app/custom/\uFF5E", "app/custom/\u{1F600}"])
  })

  it.prop("agrees with comparing the UTF-8 bytes, for any strings", [
    FastCheck.string({ unit: "binary" }),
    FastCheck.string({ unit: "binary" })
  ], ([a, b]) => {
    // A shared prefix makes the first difference land anywhere, surrogate pairs included.
    for (const [x, y] of [[a, b], [`p/${a}`, `p/${a}${b}`], [`${a}\u{1F600}${b}`, `${a}\uFF5E${b}`]]) {
      const expected = Math.sign(Buffer.compare(Buffer.from(x!, "utf8"), Buffer.from(y!, "utf8")))
      assert.strictEqual(Math.sign(JobPath.compare(x!, y!)), expected)
    }
  })
})
