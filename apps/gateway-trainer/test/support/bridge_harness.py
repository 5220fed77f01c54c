"""Drives fedkit_bridge.TrainerProcess against the bundled Node trainer without FLARE, as the bridge does per round.

usage: bridge_harness.py CUSTOM_DIR ROUNDS
Prints the trainer's forwarded log lines, then one line `RESULT {json}`.
"""

import json
import os
import sys

import numpy as np

custom = sys.argv[1]
sys.path.insert(0, custom)
import fedkit_bridge as bridge  # noqa: E402

rounds = int(sys.argv[2])
args = bridge.parse_args(["--optimizer", "adam", "--learning-rate", "0.01", "--trainer", os.path.join(custom, "fedkit_trainer.mjs")])
settings = {"optimizer": args.optimizer, "learningRate": args.learning_rate, "localEpochs": args.local_epochs, "batchSize": args.batch_size}
trainer = bridge.start_trainer(args)
out = {}
try:
    out["ready"] = trainer.wait_ready()
    vector = np.zeros(92, dtype="<f4")
    history = []
    for round_ in range(rounds + 1):
        vector, meta = trainer.train(round_, settings, vector)
        assert vector.dtype == np.dtype("<f4") and vector.shape == (92,)
        history.append(meta)
    out["history"] = history
    payload = np.linspace(-1, 1, 10_000, dtype=np.float32)
    out["pong_equal"] = bool(np.array_equal(trainer.ping(payload), payload))
    out["vector"] = vector.tolist()
except bridge.TrainerFailed as failure:
    out["failed"] = {"type": failure.type, "place": failure.place, "reason": failure.reason}
finally:
    out["exit_code"] = trainer.close()
bridge.emit("RESULT " + json.dumps(out))
