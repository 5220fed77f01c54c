// The example in defineRuntime's doc comment, kept here so it keeps compiling and rendering.
import { assert, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { Dataset2Gw, defineRuntime } from "../src/index.js"

const runtime = defineRuntime({
  payload: Schema.Struct({
    num_rounds: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 100)), { default: () => 5 })
  }),
  template: (payload, { dataset2gw, minClients }) => ({
    "meta.json": { name: "job", deploy_map: Dataset2Gw.deployMapShared(dataset2gw), min_clients: minClients },
    "app/config/config_fed_server.json": {
      format_version: 2,
      workflows: [{
        path: "nvflare.app_common.workflows.fedavg.FedAvg",
        args: { num_clients: minClients, num_rounds: payload.num_rounds, persistor_id: "" }
      }]
    },
    "app/config/config_fed_client.json": {
      format_version: 2,
      executors: [{ tasks: ["train"], executor: { path: "nvflare.app_common.np.np_trainer.NPTrainer", args: {} } }]
    }
  })
})

it("the doc example renders", () => {
  const files = runtime.template(runtime.parse("{}"), { "ds-1": "gateway-1" })
  assert.deepStrictEqual(JSON.parse(files["app/config/config_fed_server.json"]!).workflows[0].args, {
    num_clients: 1,
    num_rounds: 5,
    persistor_id: ""
  })
})
