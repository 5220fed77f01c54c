// The FedAvg numpy job of the issue, built only with this package's builders: server FedAvg + NPModelPersistor,
// client ClientAPIExecutor (external_process) running custom/trainer.py.
import * as Effect from "effect/Effect"
import {
  ClientConfig,
  Executors,
  type FlareTarget,
  Job,
  JobMeta,
  Persistors,
  ServerConfig,
  Workflows
} from "../../src/index.js"

/**
 * Each round, site-k sends `w + scale * k + len(label)`. FedAvg weighs every client 1, so one round adds
 * `scale * (n + 1) / 2 + len(label)` to the global model. The label travels as one argv element: if quoting or
 * splitting broke it, argparse fails or its length changes, and the model shows it.
 */
export const TRAINER = `import argparse

import numpy as np

import nvflare.client as flare
from nvflare.app_common.np.constants import NPConstants


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, required=True)
    parser.add_argument("--label", required=True)
    args = parser.parse_args()

    flare.init()
    try:
        site_index = int(flare.get_site_name().rsplit("-", 1)[1])
        while flare.is_running():
            model = flare.receive()
            if model is None:
                break
            weights = np.asarray(model.params[NPConstants.NUMPY_KEY], dtype=np.float32)
            updated = weights + args.scale * site_index + len(args.label)
            flare.send(
                flare.FLModel(
                    params={NPConstants.NUMPY_KEY: updated},
                    params_type=flare.ParamsType.FULL,
                    current_round=model.current_round,
                    meta={"NUM_STEPS_CURRENT_ROUND": 1},
                )
            )
    finally:
        flare.shutdown()


if __name__ == "__main__":
    main()
`

export const INITIAL_MODEL: ReadonlyArray<ReadonlyArray<number>> = [[1, 2, 3], [4, 5, 6]]
export const LABEL = `a b;c'd "e" $HOME {x}`

export interface Options {
  readonly clients: number
  readonly rounds: number
  readonly scale: number
  readonly target?: FlareTarget.FlareTarget
  /** One app to `@ALL` (default), or a server app and a client app with the sites named. */
  readonly layout?: "all" | "named"
}

export const expectedModel = (options: Options): ReadonlyArray<ReadonlyArray<number>> => {
  const perRound = (options.scale * (options.clients + 1)) / 2 + LABEL.length
  return INITIAL_MODEL.map((row) => row.map((value) => value + options.rounds * perRound))
}

export const sites = (count: number): Array<string> => Array.from({ length: count }, (_, index) => `site-${index + 1}`)

export const buildJob = (options: Options) =>
  Effect.gen(function*() {
    const server = yield* ServerConfig.make({
      workflows: [
        yield* Workflows.fedAvg(
          { num_clients: options.clients, num_rounds: options.rounds, persistor_id: "persistor" },
          { id: "fedavg" }
        )
      ],
      components: [yield* Persistors.npModelPersistor({ model: INITIAL_MODEL })]
    })
    const client = yield* ClientConfig.make({
      executors: [
        Executors.assign(
          ["*"],
          yield* Executors.clientApi({
            execution_mode: "external_process",
            command: ["python3", "-u", "custom/trainer.py", "--scale", String(options.scale), "--label", LABEL],
            launch_once: true,
            params_exchange_format: "numpy",
            server_expected_format: "numpy",
            params_transfer_type: "FULL"
          })
        )
      ]
    })
    const named = options.layout === "named"
    const meta = yield* JobMeta.make({
      name: `np-fedavg-${options.clients}`,
      deploy_map: named ? { app_server: ["server"], app_clients: sites(options.clients) } : { app: ["@ALL"] },
      min_clients: options.clients,
      resource_spec: {}
    })
    const custom = { "trainer.py": TRAINER }
    return yield* Job.make({
      meta,
      apps: named
        ? { app_server: { server, custom: {} }, app_clients: { client, custom } }
        : { app: { server, client, custom } },
      ...(options.target === undefined ? {} : { target: options.target })
    })
  })
