"""Times a Secure Runtime module's parse + validate + template on one payload, the way the platform calls it, and
prints one JSON line: {"first_ms", "p50_ms", "p99_ms", "count"}. With --dump DIR, each round also writes the files
with json.dump, as the platform's Secure Runtime does before packaging.

python timing.py <secure_runtime_service.py> <payload JSON> <dataset2gw JSON> [--runs N] [--warmup N] [--dump DIR]
"""

import argparse
import importlib.util
import json
import os
import time

arguments = argparse.ArgumentParser()
arguments.add_argument("module")
arguments.add_argument("payload")
arguments.add_argument("dataset2gw")
arguments.add_argument("--runs", type=int, default=10000)
arguments.add_argument("--warmup", type=int, default=3000)
arguments.add_argument("--dump")
options = arguments.parse_args()

spec = importlib.util.spec_from_file_location("secure_runtime_service", options.module)
runtime = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runtime)
dataset2gw = json.loads(options.dataset2gw)


def once() -> None:
    payload = runtime.parse(options.payload)
    runtime.validate(payload)
    files = runtime.template(payload, dataset2gw)
    if options.dump is not None:
        for path, content in files.items():
            target = os.path.join(options.dump, path)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w") as fh:
                if isinstance(content, str):
                    fh.write(content)
                else:
                    json.dump(content, fh)


started = time.perf_counter()
once()
first_ms = (time.perf_counter() - started) * 1000
for _ in range(options.warmup):
    once()
samples = []
for _ in range(options.runs):
    started = time.perf_counter()
    once()
    samples.append((time.perf_counter() - started) * 1000)
samples.sort()
print(
    json.dumps(
        {
            "first_ms": first_ms,
            "p50_ms": samples[len(samples) // 2],
            "p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
            "count": len(samples),
        }
    )
)
