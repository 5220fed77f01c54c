import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Fields from "../src/Fields.js"

const accepts = <A, I>(schema: Schema.Schema<A, I>, value: unknown) =>
  Either.isRight(Schema.decodeUnknownEither(schema)(value))

describe("Fields", () => {
  it("Text refuses FLARE variable syntax, invisible characters and surrounding space", () => {
    const text = Fields.Text({ maxLength: 10 })
    for (const good of ["run 1", "naïve", "a-b_c.d", "x"]) assert.isTrue(accepts(text, good), good)
    for (
      const bad of [
        "",
        "{SITE_NAME}",
        "${secret:X}",
        "a}",
        "$HOME",
        "a\u202eb",
        "a\u0000",
        "a\nb",
        "a\u200bb",
        "\ud800",
        " a",
        "a ",
        "x".repeat(11)
      ]
    ) {
      assert.isFalse(accepts(text, bad), JSON.stringify(bad))
    }
  })

  it("Text counts characters, not UTF-16 units", () => {
    assert.isTrue(accepts(Fields.Text({ maxLength: 2 }), "🔥🔥"))
  })

  it("Name allows FLARE job-name characters only, ASCII", () => {
    const name = Fields.Name()
    for (const good of ["adam", "resnet-50", "v1.2_b", "A"]) assert.isTrue(accepts(name, good), good)
    for (const bad of ["", "-x", ".x", "\u0430dam", "a b", "a/b", "x".repeat(65), "a\n"]) {
      assert.isFalse(accepts(name, bad), JSON.stringify(bad))
    }
  })

  it.prop("generated Text and Name values are valid", [Fields.Text(), Fields.Name()], ([text, name]) => {
    assert.isTrue(accepts(Fields.Text(), text))
    assert.isTrue(accepts(Fields.Name(), name))
  }, { fastCheck: { numRuns: 50 } })
})
