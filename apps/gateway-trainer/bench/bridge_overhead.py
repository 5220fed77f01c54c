"""Per-round exchange overhead of the bridge <-> trainer protocol for 10^6 float32 parameters.

A round moves the global model to the trainer and the result back. Ping/Pong does exactly that with no training in
between, so its wall time is the bridge's overhead per round: framing, two 4 MB pipe transfers, the trainer's decode
and encode, and the bridge's read into a numpy array.

usage: bridge_overhead.py CUSTOM_DIR [PARAMETERS] [ROUNDS]
"""

import os
import statistics
import sys
import time

import numpy as np

custom = sys.argv[1]
parameters = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 50
sys.path.insert(0, custom)
import fedkit_bridge as bridge  # noqa: E402

# The trainer answers pings only after its preflight, so the runner serves it a real (loopback) DAL.
trainer = bridge.TrainerProcess(["node", os.path.join(custom, "fedkit_trainer.mjs")])
trainer.wait_ready()
try:
    vector = np.random.default_rng(0).standard_normal(parameters).astype(np.float32)
    for _ in range(5):
        trainer.ping(vector)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        echoed = trainer.ping(vector)
        times.append((time.perf_counter() - start) * 1000)
    assert np.array_equal(echoed, vector)
finally:
    trainer.close()
times.sort()
mb = parameters * 4 / 1e6
print(f"bridge exchange, {parameters:,} float32 ({mb:.1f} MB each way), {rounds} rounds:")
print(f"  median {statistics.median(times):.2f} ms, p95 {times[int(0.95 * (len(times) - 1))]:.2f} ms, min {times[0]:.2f} ms")
print(f"  throughput {2 * mb / (statistics.median(times) / 1000):.0f} MB/s (both directions)")
