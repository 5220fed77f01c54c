import { Effect } from "effect"
import { ClientConfig, Edit, Executors, Job, JobMeta, Persistors, ServerConfig, Workflows } from "../src/index.js"

const trainer = `import nvflare.client as flare
from nvflare.app_common.np.constants import NPConstants

flare.init()
try:
    while flare.is_running():
        model = flare.receive()
        if model is None:
            break
        weights = model.params[NPConstants.NUMPY_KEY]
        flare.send(flare.FLModel(params={NPConstants.NUMPY_KEY: weights + 1}, current_round=model.current_round))
finally:
    flare.shutdown()
`

export const program = Effect.gen(function*() {
  const server = yield* ServerConfig.make({
    workflows: [yield* Workflows.fedAvg({ num_clients: 2, num_rounds: 2 }, { id: "fedavg" })],
    components: [yield* Persistors.npModelPersistor({ model: [[1, 2, 3], [4, 5, 6]] })] // id "persistor"
  })
  const client = yield* ClientConfig.make({
    executors: [
      Executors.assign(
        ["*"],
        yield* Executors.clientApi({
          execution_mode: "external_process",
          command: ["python3", "-u", "custom/train.py"],
          params_exchange_format: "numpy",
          server_expected_format: "numpy"
        })
      )
    ]
  })
  const meta = yield* JobMeta.make({ name: "np-fedavg", deploy_map: { app: ["@ALL"] }, min_clients: 2 })

  // Edit by identity: the FedAvg workflow, wherever the template put it.
  const longer = yield* Edit.updateArgs(server, { id: "fedavg" }, { num_rounds: 3 })

  const job = yield* Job.make({ meta, apps: { app: { server: longer, client, custom: { "train.py": trainer } } } })
  const files = yield* Job.toFiles(job) // checks the whole job first
  const files28 = yield* Job.toFiles({ ...job, target: "2.8" }) // the same job for FLARE 2.8
  return { files, files28 }
})
