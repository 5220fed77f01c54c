/**
 * A Python Secure Runtime over a fedkit runtime: `export-python` writes a standard-library-only
 * `secure_runtime_service.py` whose `parse`, `validate` and `template` run the TypeScript module in one Node process,
 * `node <bin> call --module <module> --stream`, started on the first call and kept for the Python process's
 * lifetime: one JSON request per line on its standard input, one JSON answer per line on its standard output. A
 * refused payload (or dataset map) raises `ValueError` with the same user-facing message the HTTP API gives; a fault
 * of the runtime module raises `SecureRuntimeError` (a `RuntimeError`).
 *
 * @since 0.1.0
 */
import type { Runtime } from "@fedkit/runtime-core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import type { Readable, Writable } from "node:stream"
import { describeError } from "./internal/text.js"
import { classify } from "./Refusal.js"

/**
 * One call, as the shim sends it.
 *
 * @since 0.1.0
 * @category models
 */
export const CallRequest = Schema.Union(
  Schema.Struct({ function: Schema.Literal("parse"), body: Schema.String }),
  Schema.Struct({ function: Schema.Literal("validate"), payload: Schema.Unknown }),
  Schema.Struct({
    function: Schema.Literal("template"),
    payload: Schema.Unknown,
    dataset2gw: Schema.Unknown,
    template_folder: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null })
  })
)

/**
 * @since 0.1.0
 * @category models
 */
export type CallRequest = typeof CallRequest.Type

/**
 * The answer: the value, or the Python exception to raise and its message.
 *
 * @since 0.1.0
 * @category models
 */
export type CallReply =
  | { readonly ok: true; readonly value: unknown }
  | {
    readonly ok: false
    readonly error: "ValueError" | "SecureRuntimeError"
    readonly message: string
    readonly issues: ReadonlyArray<{ readonly path: string; readonly message: string }>
  }

const decodeRequest = Schema.decodeUnknownEither(Schema.parseJson(CallRequest))

/** Template output as the Python contract returns it: JSON files as objects, other files as text. */
const asPythonFiles = (files: Readonly<Record<string, string>>): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(files).map(([path, content]) => [path, path.endsWith(".json") ? JSON.parse(content) : content])
  )

/**
 * Answers one call (the request as JSON text). Never fails: every problem is a reply.
 *
 * @since 0.1.0
 */
export const call = (runtime: Runtime.Runtime<unknown>, requestText: string): Effect.Effect<CallReply> => {
  const request = decodeRequest(requestText)
  if (Either.isLeft(request)) {
    return Effect.succeed({
      ok: false,
      error: "SecureRuntimeError",
      message: "the shim sent a request this secure-runtime does not understand; export the shim again",
      issues: []
    })
  }
  const value = request.right
  const run: Effect.Effect<unknown, unknown> = value.function === "parse"
    ? Effect.map(runtime.parseEffect(value.body), runtime.encode)
    : value.function === "validate"
    ? Effect.as(runtime.validateEffect(value.payload), null)
    : Effect.map(
      runtime.templateEffect(
        value.payload,
        value.dataset2gw,
        value.template_folder === null ? undefined : { templateFolder: value.template_folder }
      ),
      asPythonFiles
    )
  return Effect.suspend(() => run).pipe(
    Effect.map((result): CallReply => ({ ok: true, value: result })),
    Effect.catchAllDefect((defect) => Effect.fail(defect)),
    Effect.catchAll((error) => {
      const failure = classify(error)
      return Effect.succeed<CallReply>({
        ok: false,
        error: failure._tag === "TemplateBroken" ? "SecureRuntimeError" : "ValueError",
        message: failure.message,
        issues: failure.issues
      })
    }),
    Effect.catchAllDefect((defect) =>
      Effect.succeed<CallReply>({ ok: false, error: "SecureRuntimeError", message: describeError(defect), issues: [] })
    )
  )
}

/** What the reader hands on: a request line, a line over the bound (skipped to its end), or the end of input. */
type Received = string | typeof OVERLONG | typeof END
const OVERLONG = Symbol("overlong")
const END = Symbol("end")

/** Splits `input` into lines of at most `maxLineBytes` bytes, without ever holding more than that. */
const readLines = (input: Readable, maxLineBytes: number, received: Queue.Queue<Received>) => {
  let parts: Array<Buffer> = []
  let size = 0
  let skipping = false
  const offer = (item: Received) => void Queue.unsafeOffer(received, item)
  input.on("data", (chunk: Buffer) => {
    let start = 0
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, newline)
      if (skipping) skipping = false
      else if (size + piece.length > maxLineBytes) offer(OVERLONG)
      else offer(Buffer.concat([...parts, piece]).toString("utf8"))
      parts = []
      size = 0
      start = newline + 1
    }
    const rest = chunk.subarray(start)
    if (skipping || rest.length === 0) return
    if (size + rest.length > maxLineBytes) {
      skipping = true
      parts = []
      size = 0
      offer(OVERLONG)
    } else {
      parts.push(rest)
      size += rest.length
    }
  })
  input.once("end", () => offer(END))
  input.once("error", () => offer(END))
}

const writeLine = (output: Writable, line: string) =>
  Effect.async<void>((resume) => {
    if (output.write(`${line}\n`)) return resume(Effect.void)
    output.once("drain", () => resume(Effect.void))
  })

/**
 * Answers calls, one JSON request per line of `input`, with one JSON answer per line on `output`, in order, until
 * `input` ends. A line longer than `maxLineBytes` is answered with a `ValueError` and skipped.
 *
 * @since 0.1.0
 */
export const answerLines = (
  runtime: Runtime.Runtime<unknown>,
  input: Readable,
  output: Writable,
  maxLineBytes: number
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const received = yield* Queue.unbounded<Received>()
    readLines(input, maxLineBytes, received)
    while (true) {
      const item = yield* Queue.take(received)
      if (item === END) return
      const reply: CallReply = item === OVERLONG
        ? { ok: false, error: "ValueError", message: `The request is larger than ${maxLineBytes} bytes.`, issues: [] }
        : yield* call(runtime, item)
      yield* writeLine(output, JSON.stringify(reply))
    }
  })

/**
 * Where the shim finds things. Each can be overridden when the shim runs: `FEDKIT_NODE`,
 * `FEDKIT_SECURE_RUNTIME_BIN`, `FEDKIT_SECURE_RUNTIME_MODULE`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ShimOptions {
  /** The `node` executable (default: `node` on `PATH`). */
  readonly node: string
  /** The `secure-runtime` bin (`dist/bin.js`). */
  readonly bin: string
  /** The runtime module: absolute, or relative to the shim's own folder. */
  readonly module: string
}

const py = (text: string): string => JSON.stringify(text)

/**
 * The shim's Python source.
 *
 * @since 0.1.0
 */
// eslint-disable-next-line max-lines-per-function -- the Python file as written, kept whole to read (and review) as Python
export const source = (options: ShimOptions): string =>
  `"""Secure Runtime service generated by \`secure-runtime export-python\` (fedkit).

parse, validate and template delegate to a TypeScript runtime module through node. Only the Python standard library
is used. One node process serves every call of this Python process: started on the first call, started again if it
dies, stopped when Python exits. A refused payload raises ValueError with the user-facing message; a fault of the
runtime module raises SecureRuntimeError (a RuntimeError). Environment overrides: FEDKIT_NODE, FEDKIT_SECURE_RUNTIME_BIN,
FEDKIT_SECURE_RUNTIME_MODULE, FEDKIT_SECURE_RUNTIME_TIMEOUT (seconds, default 120).
"""

import atexit
import json
import os
import select
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, Optional

_HERE = Path(__file__).resolve().parent

NODE = os.environ.get("FEDKIT_NODE", ${py(options.node)})
BIN = os.environ.get("FEDKIT_SECURE_RUNTIME_BIN", ${py(options.bin)})
MODULE = os.environ.get("FEDKIT_SECURE_RUNTIME_MODULE", str(_HERE / ${py(options.module)}))
TIMEOUT_SECONDS = float(os.environ.get("FEDKIT_SECURE_RUNTIME_TIMEOUT", "120"))


class SecureRuntimeError(RuntimeError):
    """The runtime module failed, or could not be run: not a problem with the payload."""


class _NodeProcess:
    """The node process of this Python process: started on the first call, started again if it died, stopped (and
    waited for) when Python exits. One JSON request per line on its stdin, one JSON answer per line on its stdout;
    calls from several threads take turns."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: Optional[subprocess.Popen] = None
        self._owner = 0
        self._stderr: Any = None
        self._pending = b""

    def _start(self) -> None:
        self._stderr = tempfile.TemporaryFile()
        try:
            self._process = subprocess.Popen(
                [NODE, BIN, "call", "--module", MODULE, "--stream"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                # Its own session: a Ctrl-C meant for Python does not kill it mid-call; Python's exit stops it.
                start_new_session=True,
            )
        except OSError as exc:
            self._stderr.close()
            self._stderr = None
            raise SecureRuntimeError("could not run the TypeScript runtime: %s" % exc) from None
        self._owner = os.getpid()
        self._pending = b""

    def _discard(self) -> str:
        """Kills and reaps the process, so no zombie is left; returns the last line it wrote on stderr."""
        process, self._process = self._process, None
        if process is not None:
            try:
                # A process that closed its stdout is exiting: let it finish writing why.
                process.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            for stream in (process.stdin, process.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
        lines = []
        if self._stderr is not None:
            self._stderr.seek(0)
            lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
            self._stderr.close()
            self._stderr = None
        return lines[-1][:500] if lines else "it exited"

    def stop(self) -> None:
        """Closes its stdin, so that it exits; kills it if it has not within 5 seconds."""
        with self._lock:
            process = self._process
            if process is None or self._owner != os.getpid():
                return
            try:
                process.stdin.close()
                process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self._discard()

    def _receive(self) -> Optional[bytes]:
        """The next answer line, or None when the process exited without one."""
        deadline = time.monotonic() + TIMEOUT_SECONDS
        fd = self._process.stdout.fileno()
        while b"\\n" not in self._pending:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self._discard()
                raise SecureRuntimeError("the TypeScript runtime did not answer within %g seconds" % TIMEOUT_SECONDS)
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\\n")
        return line

    def call(self, data: bytes) -> Any:
        with self._lock:
            line = None
            for attempt in (1, 2):
                # After a fork, the child starts its own process rather than share the parent's pipes.
                if self._process is None or self._owner != os.getpid() or self._process.poll() is not None:
                    if self._process is not None and self._owner == os.getpid():
                        self._discard()
                    self._start()
                try:
                    self._process.stdin.write(data + b"\\n")
                    self._process.stdin.flush()
                    line = self._receive()
                except OSError:
                    line = None
                if line is not None:
                    break
                # It died: maybe since the last call, before reading this one (a process being killed can still
                # take a write). Start another and send the call once more; a call that kills it twice fails.
                detail = self._discard()
                if attempt == 2:
                    raise SecureRuntimeError("the TypeScript runtime gave no answer: %s" % detail)
        try:
            return json.loads(line)
        except ValueError:
            return None


_NODE_PROCESS = _NodeProcess()
atexit.register(_NODE_PROCESS.stop)


def _call(request: Dict[str, Any]) -> Any:
    try:
        data = json.dumps(request, allow_nan=False, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError) as exc:
        raise ValueError("The payload cannot be represented as JSON: %s" % exc) from None
    reply = _NODE_PROCESS.call(data)
    if not isinstance(reply, dict):
        raise SecureRuntimeError("the TypeScript runtime gave an answer that is not JSON")
    if reply.get("ok") is True:
        return reply.get("value")
    message = str(reply.get("message") or "the runtime failed")
    if reply.get("error") == "ValueError":
        raise ValueError(message)
    raise SecureRuntimeError(message)


def parse(body: str) -> dict:
    """Parses a JSON request body into a payload (defaults applied). Raises ValueError when it is refused."""
    if isinstance(body, (bytes, bytearray)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("Malformed JSON: the body is not valid UTF-8 text.") from None
    if not isinstance(body, str):
        raise ValueError("Malformed JSON: the body must be text.")
    return _call({"function": "parse", "body": body})


def validate(payload: dict) -> None:
    """Validates a payload. Raises ValueError when it is refused."""
    _call({"function": "validate", "payload": payload})


def template(payload: dict, _dataset2gw: Optional[dict] = None, *, template_folder: Optional[Path] = None) -> dict:
    """Builds the FLARE job files: path -> content (JSON files as dicts, other files as text)."""
    return _call(
        {
            "function": "template",
            "payload": payload,
            "dataset2gw": _dataset2gw,
            "template_folder": None if template_folder is None else str(template_folder),
        }
    )
`
