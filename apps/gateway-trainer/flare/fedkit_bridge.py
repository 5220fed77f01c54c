"""fedkit gateway bridge: FLARE's Client API on one side, the fedkit Node trainer on the other.

FLARE 2.9 runs this script on each gateway with ClientAPIExecutor in external_process mode. It starts the Node
trainer (`node custom/fedkit_trainer.mjs`), which reads the APH_* settings, checks the asset policies, downloads and
loads the gateway's data, and says READY (or FAILED, with a sanitized reason). Only then does the bridge connect to
FLARE (flare.init), so a refusing gateway fails the job at once. Per round it hands the global model vector to the
trainer and returns the trainer's vector, row count (the FedAvg weight) and metrics to FLARE.

Wire format (all little-endian), one frame per message:

    u32 frame length (bytes after this field) | "FK" | u8 version | u8 type | u32 round | u32 meta length |
    u32 float count | meta: UTF-8 JSON, zero-padded to 4 bytes | payload: float32 values

The payload is read into one buffer and viewed in place with numpy.frombuffer (no copy), and written straight from
the array's memory. The trainer's stderr is forwarded to the FLARE log, but only lines the trainer itself wrote
(prefixed "fedkit-trainer "): anything else (a runtime crash dump, a library's stray output) is counted, not shown,
because nothing that reaches the log may carry a token or a data value. For the same reason errors are reported as
type and place, never with an exception's message.
"""

import argparse
import fcntl
import json
import os
import shutil
import struct
import subprocess
import sys
import threading
import traceback

import numpy as np

PROTOCOL_VERSION = 1
MAGIC = b"FK"
# frame length, magic, version, type, round, meta length, float count
HEADER = struct.Struct("<I2sBBIII")
MAX_META_BYTES = 1 << 20
MAX_FLOATS = 1 << 28

READY, TRAIN, RESULT, PING, PONG, SHUTDOWN, FAILED = 1, 2, 3, 4, 5, 6, 7
TYPE_NAMES = {READY: "Ready", TRAIN: "Train", RESULT: "Result", PING: "Ping", PONG: "Pong", SHUTDOWN: "Shutdown", FAILED: "Failed"}

TRAINER_LOG_PREFIX = "fedkit-trainer "
FAILURE_MARKER = "fedkit-site-failure:"
# Linux pipes hold 64 KiB by default: a 4 MB model would cross in 64 writer/reader hand-offs each way. 1 MiB is the
# default ceiling (/proc/sys/fs/pipe-max-size) for unprivileged processes.
PIPE_BYTES = 1 << 20
NUMPY_KEY = "numpy_key"  # nvflare.app_common.np.constants.NPConstants.NUMPY_KEY
# Bounds shared with the Secure Runtime's payload validation (LocalRound.limits in the TypeScript sources).
MAX_LEARNING_RATE = 1.0
MAX_LOCAL_EPOCHS = 100
MAX_BATCH_SIZE = 4096


_output_lock = threading.Lock()


def emit(line):
    # One write per line under a lock: the stderr-forwarding thread and the main thread share stdout.
    with _output_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def log(text):
    emit(f"fedkit-bridge: {text}")


def _pad4(n):
    return (n + 3) & ~3


def _enlarge(pipe):
    """Grows a pipe's kernel buffer where the platform allows it; elsewhere the default only costs speed."""
    if hasattr(fcntl, "F_SETPIPE_SZ"):
        try:
            fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:
            pass


class BridgeError(Exception):
    """A failure whose message is written by this file only: safe to log."""


class TrainerFailed(BridgeError):
    """The trainer reported a failure (its fields are sanitized by the trainer and bounded here)."""

    def __init__(self, failure):
        def field(name):
            value = failure.get(name) if isinstance(failure, dict) else None
            text = value if isinstance(value, str) else "?"
            return "".join(c if c.isprintable() else " " for c in text)[:500]

        self.type, self.place, self.reason = field("type"), field("place"), field("reason")
        super().__init__(f"{self.type} at {self.place}: {self.reason}")


class TrainerProcess:
    """The Node trainer as a child process, spoken to in frames over its stdin/stdout."""

    def __init__(self, command, env=None):
        self.suppressed_lines = 0
        self._proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        for pipe in (self._proc.stdin, self._proc.stdout):
            _enlarge(pipe)
        self._stderr_thread = threading.Thread(target=self._forward_stderr, name="fedkit-trainer-stderr", daemon=True)
        self._stderr_thread.start()

    def _forward_stderr(self):
        for raw in self._proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line.startswith(TRAINER_LOG_PREFIX):
                emit(line)
            elif line.strip():
                self.suppressed_lines += 1

    # -- frames

    def send(self, msg_type, round_=0, meta=None, payload=None):
        meta_bytes = json.dumps(meta if meta is not None else {}, separators=(",", ":")).encode("utf-8")
        floats = np.ascontiguousarray(payload if payload is not None else np.empty(0), dtype="<f4")
        if floats.ndim != 1:
            raise BridgeError("a payload must be a 1-D float32 vector")
        padded = _pad4(len(meta_bytes))
        length = HEADER.size - 4 + padded + 4 * floats.size
        stdin = self._proc.stdin
        try:
            stdin.write(HEADER.pack(length, MAGIC, PROTOCOL_VERSION, msg_type, round_, len(meta_bytes), floats.size))
            stdin.write(meta_bytes + b"\0" * (padded - len(meta_bytes)))
            if floats.size:
                stdin.write(memoryview(floats).cast("B"))
            stdin.flush()
        except (BrokenPipeError, ValueError):
            raise BridgeError(f"the trainer exited unexpectedly (exit code {self._proc.wait()})") from None

    def _read_into(self, view):
        got = 0
        while got < len(view):
            n = self._proc.stdout.readinto(view[got:])
            if not n:
                raise BridgeError(f"the trainer exited unexpectedly (exit code {self._proc.wait()})")
            got += n

    def receive(self):
        """One frame: (type, round, meta dict, float32 array viewing the frame buffer)."""
        header = bytearray(HEADER.size)
        self._read_into(memoryview(header))
        length, magic, version, msg_type, round_, meta_len, count = HEADER.unpack(header)
        if magic != MAGIC or version != PROTOCOL_VERSION or msg_type not in TYPE_NAMES:
            raise BridgeError("the trainer's output is not a fedkit frame (bad magic, version or type)")
        if meta_len > MAX_META_BYTES or count > MAX_FLOATS or length != HEADER.size - 4 + _pad4(meta_len) + 4 * count:
            raise BridgeError("the trainer sent a frame with inconsistent or oversized lengths")
        body = bytearray(length - (HEADER.size - 4))
        self._read_into(memoryview(body))
        try:
            meta = json.loads(body[:meta_len].decode("utf-8"))
        except ValueError:
            raise BridgeError("the trainer sent a frame whose meta is not UTF-8 JSON") from None
        if not isinstance(meta, dict):
            raise BridgeError("the trainer sent a frame whose meta is not a JSON object")
        payload = np.frombuffer(body, dtype="<f4", count=count, offset=_pad4(meta_len))
        if msg_type == FAILED:
            raise TrainerFailed(meta)
        return msg_type, round_, meta, payload

    def _expect(self, expected):
        msg_type, round_, meta, payload = self.receive()
        if msg_type != expected:
            raise BridgeError(f"expected a {TYPE_NAMES[expected]} frame from the trainer, got {TYPE_NAMES[msg_type]}")
        return round_, meta, payload

    # -- messages

    def wait_ready(self):
        """The trainer's preflight outcome: its READY meta, or TrainerFailed."""
        return self._expect(READY)[1]

    def train(self, round_, settings, vector):
        """One round: returns (vector, meta) with meta = {phase, samples, metrics}."""
        self.send(TRAIN, round_, settings, vector)
        got_round, meta, payload = self._expect(RESULT)
        if got_round != round_:
            raise BridgeError(f"the trainer answered round {got_round} to round {round_}")
        return payload, meta

    def ping(self, payload):
        self.send(PING, 0, {}, payload)
        return self._expect(PONG)[2]

    def close(self, timeout=30):
        """Asks the trainer to exit and waits; kills it after `timeout` seconds. Returns its exit code."""
        if self._proc.poll() is None:
            try:
                self.send(SHUTDOWN)
                self._proc.stdin.close()
            except (BridgeError, OSError):
                pass
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"the trainer did not exit within {timeout}s of Shutdown; killing it")
                self._proc.kill()
                self._proc.wait()
        self._stderr_thread.join(5)
        if self.suppressed_lines:
            log(f"suppressed {self.suppressed_lines} trainer output line(s) without the {TRAINER_LOG_PREFIX.strip()} prefix")
        return self._proc.returncode


# -- the FLARE side


def _bounded(kind, low, high):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a valid {kind.__name__}") from None
        if not (low < value <= high if kind is float else low <= value <= high):
            raise argparse.ArgumentTypeError(f"must be in {'(' if kind is float else '['}{low}, {high}]")
        return value

    return parse


def parse_args(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description="fedkit gateway bridge (FLARE Client API <-> Node trainer)")
    parser.add_argument("--optimizer", choices=["adam", "sgd"], required=True)
    parser.add_argument("--learning-rate", type=_bounded(float, 0.0, MAX_LEARNING_RATE), required=True)
    parser.add_argument("--local-epochs", type=_bounded(int, 1, MAX_LOCAL_EPOCHS), default=2)
    parser.add_argument("--batch-size", type=_bounded(int, 1, MAX_BATCH_SIZE), default=32)
    parser.add_argument("--trainer", default=os.path.join(here, "fedkit_trainer.mjs"), help="the trainer bundle")
    parser.add_argument("--node", default=os.environ.get("FEDKIT_NODE", "node"), help="the Node.js executable")
    return parser.parse_args(argv)


def start_trainer(args):
    node = shutil.which(args.node)
    if node is None:
        raise BridgeError("Node.js was not found (put `node` on PATH or set FEDKIT_NODE)")
    if not os.path.isfile(args.trainer):
        raise BridgeError("the trainer bundle fedkit_trainer.mjs is missing from the job's custom folder")
    # The trainer inherits this process's environment: the gateway's APH_* settings reach it unchanged.
    return TrainerProcess([node, args.trainer])


def run_rounds(trainer, settings):
    import nvflare.client as flare

    flare.init()
    site = flare.get_site_name()
    try:
        while flare.is_running():
            model = flare.receive()
            if model is None:
                break
            if not flare.is_train():
                raise BridgeError(f"task {flare.get_task_name()!r} is not supported; this trainer only trains")
            params = model.params or {}
            if NUMPY_KEY not in params:
                raise BridgeError(f"the global model has no {NUMPY_KEY!r} array (use NPModelPersistor)")
            vector = np.asarray(params[NUMPY_KEY])
            if vector.ndim != 1:
                raise BridgeError(f"the global model must be a 1-D vector, got {vector.ndim} dimensions")
            round_ = int(model.current_round or 0)
            result, meta = trainer.train(round_, settings, vector)
            metrics = meta.get("metrics") or {}
            # A diverged model's NaN metrics arrive as JSON null: shown as such, and FedAvg skips them.
            summary = " ".join(
                f"{k}={v:.4f}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in sorted(metrics.items())
            )
            log(f"[{site}] round {round_}: {meta.get('phase')} on {meta.get('samples')} rows {summary}".rstrip())
            flare.send(
                flare.FLModel(
                    params={NUMPY_KEY: result},
                    params_type=flare.ParamsType.FULL,
                    metrics=metrics,
                    current_round=model.current_round,
                    # FedAvg weighs each site by this: row-count weighting makes the averaged moments exact.
                    meta={"NUM_STEPS_CURRENT_ROUND": int(meta["samples"])},
                )
            )
    finally:
        flare.shutdown()


def main(argv):
    args = parse_args(argv)
    settings = {
        "optimizer": args.optimizer,
        "learningRate": args.learning_rate,
        "localEpochs": args.local_epochs,
        "batchSize": args.batch_size,
    }
    trainer = start_trainer(args)
    try:
        # Preflight before flare.init(): a gateway whose policy refuses (or whose data is unusable) exits before the
        # HELLO handshake, which FLARE reports at once instead of after a heartbeat timeout.
        ready = trainer.wait_ready()
        log(f"trainer ready: {ready.get('samples')} rows from {ready.get('datasets')} dataset(s)")
        run_rounds(trainer, settings)
    finally:
        trainer.close()


def sanitized(error):
    """Type and place of an unexpected exception; never its message (it may quote data or a token)."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if os.path.basename(f.filename) == os.path.basename(__file__)] or frames
    where = f" at {os.path.basename(ours[-1].filename)}:{ours[-1].lineno} in {ours[-1].name}" if ours else ""
    return f"unexpected {type(error).__name__}{where}"


def report_failure(reason):
    """The gateway's sanitized reason, as the one line FLARE's runners read as the site's failure (job-packager's
    SITE_FAILURE_MARKER). It lands in the site's job log, which the job streams to the server (JobLogStreamer), so the
    server holds it too."""
    emit(f"{FAILURE_MARKER} {reason}")


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except BridgeError as failure:
        report_failure(failure)
        sys.exit(1)
    except Exception as error:  # noqa: BLE001 - reported without its message, on purpose
        report_failure(sanitized(error))
        sys.exit(1)
