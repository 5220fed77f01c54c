// Figures for the costs a Secure Runtime pays per request: screening a body (small, near the 1 MiB limit, deeply
// nested), and parse + validate + template for the contract's example model.
import * as Effect from "effect/Effect"
import { bench, describe } from "vitest"
import * as JsonBody from "../src/JsonBody.js"
import contract from "../test/fixtures/contractRuntime.js"

const small = JSON.stringify({ optimizer_name: "adam", learning_rate: 0.01, num_federation_rounds: 10 })
const large = JSON.stringify({
  items: Array.from({ length: 9000 }, (_, index) => ({ id: index, name: `item-${index}`, weight: index / 7 }))
})
const deep = `{"a": ${"[".repeat(100_000)}`
const dataset2gw = { "ds-1": "gateway-1", "ds-2": "gateway-2", "ds-3": "gateway-2" }

describe("JsonBody.parseEither", () => {
  bench("contract payload (80 B)", () => {
    JsonBody.parseEither(small)
  })
  bench(`array of objects (${Math.round(large.length / 1024)} KiB)`, () => {
    JsonBody.parseEither(large)
  })
  bench("JSON.parse of the same, for comparison", () => {
    JSON.parse(large)
  })
  bench("100000 unclosed brackets (refused at depth 32)", () => {
    JsonBody.parseEither(deep)
  })
})

describe("contract runtime", () => {
  bench("parse + validate + template", () => {
    Effect.runSync(contract.renderEffect(small, dataset2gw))
  })
})
