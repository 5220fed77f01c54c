"""fedkit FLARE smoke-job trainer (external process, nvflare 2.9 Client API).

"Training" adds 1.0 to every weight, so after N FedAvg rounds with identical
clients the global model is the initial model + N.
"""

import argparse

import numpy as np

import nvflare.client as flare
from nvflare.app_common.np.constants import NPConstants  # "numpy_key"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--update_type", choices=["full", "diff"], default="full")
    args = parser.parse_args()

    flare.init()
    try:
        while flare.is_running():
            input_model = flare.receive()
            if input_model is None:
                break
            site = flare.get_site_name()
            weights = np.asarray(input_model.params[NPConstants.NUMPY_KEY], dtype=np.float32)
            new_weights = weights + 1.0  # "training"
            print(
                f"[{site}] round {input_model.current_round}: "
                f"mean {float(np.mean(weights)):.3f} -> {float(np.mean(new_weights)):.3f}"
            )

            if args.update_type == "diff":
                params, params_type = new_weights - weights, flare.ParamsType.DIFF
            else:
                params, params_type = new_weights, flare.ParamsType.FULL

            flare.send(
                flare.FLModel(
                    params={NPConstants.NUMPY_KEY: params},
                    params_type=params_type,
                    metrics={"weight_mean": float(np.mean(new_weights))},
                    current_round=input_model.current_round,
                    meta={"NUM_STEPS_CURRENT_ROUND": 1},
                )
            )
    finally:
        flare.shutdown()


if __name__ == "__main__":
    main()
