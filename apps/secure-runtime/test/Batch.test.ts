import { assert, describe, it } from "@effect/vitest"
import * as Batch from "../src/internal/batch.js"

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe("Batch", () => {
  it("runs what is deferred in one turn together in the next, in order, and starts a new batch after", async () => {
    const later = Batch.make()
    const ran: Array<string> = []
    later(() => ran.push("a"))
    later(() => {
      ran.push("b")
      // Deferred while the batch runs: the turn after.
      later(() => ran.push("d"))
    })
    later(() => ran.push("c"))
    assert.deepStrictEqual(ran, [])
    await nextTurn()
    assert.deepStrictEqual(ran, ["a", "b", "c"])
    await nextTurn()
    assert.deepStrictEqual(ran, ["a", "b", "c", "d"])
  })
})
