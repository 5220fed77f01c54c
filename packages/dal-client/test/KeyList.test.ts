import { assert, describe, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as KeyList from "../src/internal/keyList.js"

const all = (list: KeyList.KeyList): Array<string> => {
  const out: Array<string> = []
  const cursor = list.cursor()
  for (let key = cursor.next(); key !== undefined; key = cursor.next()) out.push(key)
  return out
}

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))

// Keys that share prefixes, as listings do, with characters around '/' and beyond one byte of UTF-8.
const key = FastCheck.array(FastCheck.constantFrom("a", "b", "/", ".", "-", "é", "日", "z9", "\u{1F600}"), {
  maxLength: 10
}).map((parts) => parts.join(""))

describe("KeyList", () => {
  it.prop(
    "holds the keys sorted by UTF-8 bytes, without duplicates, in any input order",
    [FastCheck.array(key)],
    ([keys]) => {
      const list = KeyList.of(keys)
      const expected = [...new Set(keys)].sort(byBytes)
      assert.deepStrictEqual(all(list), expected)
      assert.strictEqual(list.size, expected.length)
      for (const k of keys) {
        assert.isTrue(list.has(k))
        assert.isFalse(list.has(k + "\u0000"))
        assert.isTrue(list.hasPrefix([...k].slice(0, 2).join("")))
      }
      assert.strictEqual(list.hasPrefix("q"), false)
    }
  )

  it("sorts reversed and interleaved runs across chunks and restart points", () => {
    const count = 100_000
    const name = (i: number) => `folder-${i % 7}/part-${String(i).padStart(7, "0")}/${"x".repeat(i % 40)}.bin`
    const keys = Array.from({ length: count }, (_, i) => name(count - 1 - i))
    keys.push(...keys.slice(0, 1000))
    const list = KeyList.of(keys)
    const expected = [...new Set(keys)].sort(byBytes)
    assert.strictEqual(list.size, count)
    assert.deepStrictEqual(all(list), expected)
    assert.isTrue(list.has(name(12_345)))
    assert.isFalse(list.has(`folder-0/part-0000000/`))
    assert.isTrue(list.hasPrefix(`folder-3/part-0000003/`))
    assert.isFalse(list.hasPrefix(`folder-3/part-0000004/`))
  })
})
