import { NodeContext } from "@effect/platform-node"
import { Effect } from "effect"
import { Inputs, Render, RuntimeModule } from "../src/index.js"

export const program = Effect.gen(function*() {
  const { runtime } = yield* RuntimeModule.load("test/fixtures/good")
  const dataset2gw = yield* Inputs.dataset2gw(`{"ds-1": "gateway-1", "ds-2": "gateway-2"}`)
  const job = yield* Render.render(runtime, `{"optimizer_name": "adam"}`, dataset2gw, Render.nameFromMeta)
  return job.files.map((file) => file.path) // ["app/config/config_fed_client.json", …, "meta.json"]
}).pipe(Effect.provide(NodeContext.layer))
