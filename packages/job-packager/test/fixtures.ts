/**
 * A small numpy FedAvg job with an external-process Client API trainer, as a template would return it. The trainer
 * adds 1 to every weight each round and prints what the site environment gave it (never the token itself, only its
 * SHA-256). `FEDKIT_TEST_SLEEP` makes it stall (for interruption tests), `FEDKIT_TEST_CRASH` makes it fail before
 * its handshake with a `fedkit-site-failure:` report that quotes its token (to check redaction).
 */
import type { JobPackage } from "../src/index.js"

export const ROUNDS = 2
export const INITIAL_MODEL = [[1, 2], [3, 4]]

export const trainer = `"""fedkit test trainer (nvflare 2.9 Client API, external process)."""
import hashlib
import os
import sys
import time

import numpy as np

import nvflare.client as flare
from nvflare.app_common.np.constants import NPConstants

if os.environ.get("FEDKIT_TEST_CRASH"):
    # Reports why it stops, and says its token out loud, as careless code might: whoever shows it must redact it.
    print("fedkit-site-failure: crashing on purpose with token " + os.environ.get("APH_DAL_TOKEN", "-"), flush=True)
    sys.exit(1)

flare.init()
site = flare.get_site_name()
token = os.environ.get("APH_DAL_TOKEN")
print(
    "[fedkit-env] site=%s dal_url=%s data=%s token_sha256=%s"
    % (
        site,
        os.environ.get("APH_API_DAL_URL", "-"),
        os.environ.get("APH_DATA", "-"),
        hashlib.sha256(token.encode()).hexdigest() if token else "-",
    ),
    flush=True,
)
time.sleep(float(os.environ.get("FEDKIT_TEST_SLEEP", "0")))
try:
    while flare.is_running():
        model = flare.receive()
        if model is None:
            break
        weights = np.asarray(model.params[NPConstants.NUMPY_KEY], dtype=np.float32) + 1.0
        flare.send(
            flare.FLModel(
                params={NPConstants.NUMPY_KEY: weights},
                params_type=flare.ParamsType.FULL,
                metrics={"weight_mean": float(np.mean(weights))},
                current_round=model.current_round,
                meta={"NUM_STEPS_CURRENT_ROUND": 1},
            )
        )
finally:
    flare.shutdown()
`

export const serverConfig = {
  format_version: 2,
  workflows: [
    {
      id: "controller",
      path: "nvflare.app_common.workflows.fedavg.FedAvg",
      args: { num_clients: 2, num_rounds: ROUNDS, persistor_id: "persistor" }
    }
  ],
  components: [
    {
      id: "persistor",
      path: "nvflare.app_common.np.np_model_persistor.NPModelPersistor",
      args: { model: INITIAL_MODEL }
    },
    { id: "metrics_writer", path: "nvflare.app_common.widgets.metrics_artifact_writer.MetricsArtifactWriter", args: {} }
  ],
  task_data_filters: [],
  task_result_filters: []
}

export const clientConfig = {
  format_version: 2,
  executors: [
    {
      tasks: ["*"],
      executor: {
        path: "nvflare.app_common.executors.client_api_executor.ClientAPIExecutor",
        args: {
          execution_mode: "external_process",
          command: ["python3", "-u", "custom/client.py"],
          launch_once: true,
          params_exchange_format: "numpy",
          server_expected_format: "numpy",
          params_transfer_type: "FULL"
        }
      }
    }
  ],
  // Streams each site's structured log to the server while the job runs: how a deployment's sites are watched.
  components: [
    {
      id: "log_streamer",
      path: "nvflare.app_common.logging.job_log_streamer.JobLogStreamer",
      args: { log_file_name: "log.json", target_parent_server: true }
    }
  ],
  task_data_filters: [],
  task_result_filters: []
}

export const meta = { name: "fedkit-np", resource_spec: {}, min_clients: 2, deploy_map: { app: ["@ALL"] } }

/** The template's output: JSON files as values, the trainer as text. */
export const files: Record<string, JobPackage.FileContent> = {
  "meta.json": meta,
  "app/config/config_fed_server.json": serverConfig,
  "app/config/config_fed_client.json": clientConfig,
  "app/custom/client.py": trainer
}
