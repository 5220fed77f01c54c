import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { binPath, runCli } from "./support/cli.js"
import { DATASET2GW, fixture } from "./support/fixtures.js"

/** Imports the shim from python3 and calls all three functions, good and bad, printing one JSON result. */
const SCRIPT = `
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("secure_runtime_service", sys.argv[1])
srs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(srs)
d2g = json.loads(sys.argv[2])
out = {}
def attempt(name, fn):
    try:
        out[name] = {"value": fn()}
    except ValueError as exc:
        out[name] = {"ValueError": str(exc)}
    except Exception as exc:
        out[name] = {type(exc).__name__: str(exc)}
payload = srs.parse('{"optimizer_name": "sgd", "num_federation_rounds": 4}')
out["parse"] = payload
out["validate"] = srs.validate(payload)
files = srs.template(payload, d2g)
out["template_paths"] = sorted(files)
out["server_args"] = files["app/config/config_fed_server.json"]["workflows"][0]["args"]
out["trainer_is_text"] = isinstance(files["app/custom/client.py"], str)
attempt("parse_bad", lambda: srs.parse('{"optimizer_name": "adamw"}'))
attempt("parse_malformed", lambda: srs.parse('{"optimizer_name": '))
attempt("validate_bad", lambda: srs.validate({"optimizer_name": "sgd", "learning_rate": 5}))
attempt("template_no_map", lambda: srs.template(payload, None))
attempt("template_bad_payload", lambda: srs.template({"optimizer_name": "nope"}, d2g))
print(json.dumps(out))
`

/** Exports the good fixture's shim into a new folder, with this node and the bin compiled for the tests. */
const exportGood = Effect.gen(function*() {
  const out = mkdtempSync(join(tmpdir(), "fedkit-sr-python-"))
  const exported = yield* Effect.promise(() =>
    runCli(["export-python", "--module", fixture("good"), "--out", out, "--node", process.execPath, "--bin", binPath()])
  )
  assert.strictEqual(exported.code, 0, exported.stderr)
  return { exported, out }
})

const python = (script: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.promise(() =>
    new Promise<{ stdout: string; stderr: string; code: number }>((resolve) =>
      execFile(
        "python3",
        ["-c", script, ...args],
        { env: { ...process.env, ...env }, timeout: 120_000 },
        (error, stdout, stderr) =>
          resolve({ stdout, stderr, code: error === null ? 0 : typeof error.code === "number" ? error.code : 1 })
      )
    )
  )

describe("export-python", () => {
  it.live(
    "writes a standard-library-only shim whose parse, validate and template run the TypeScript runtime",
    () =>
      Effect.gen(function*() {
        const { exported, out } = yield* exportGood
        const shim = join(out, "secure_runtime_service.py")
        assert.strictEqual(exported.stdout.trim(), shim)
        const imports = readFileSync(shim, "utf8").match(/^(?:import|from) \S+/gm)
        assert.deepStrictEqual(imports, [
          "import atexit",
          "import json",
          "import os",
          "import select",
          "import subprocess",
          "import tempfile",
          "import threading",
          "import time",
          "from pathlib",
          "from typing"
        ])

        const result = yield* python(SCRIPT, [shim, JSON.stringify(DATASET2GW)])
        assert.strictEqual(result.code, 0, result.stderr)
        const got = JSON.parse(result.stdout)
        assert.deepStrictEqual(got.parse, {
          optimizer_name: "sgd",
          learning_rate: 0.01,
          num_federation_rounds: 4,
          run_name: "unnamed run"
        })
        assert.isNull(got.validate)
        assert.deepStrictEqual(got.template_paths, [
          "app/config/config_fed_client.json",
          "app/config/config_fed_server.json",
          "app/custom/client.py",
          "meta.json"
        ])
        assert.deepStrictEqual(got.server_args, { num_clients: 2, num_rounds: 4, persistor_id: "persistor" })
        assert.isTrue(got.trainer_is_text)
        assert.deepStrictEqual(got.parse_bad, {
          ValueError: "Invalid payload (1 problem): optimizer_name: Expected \"adam\" or \"sgd\", got \"adamw\"."
        })
        assert.match(got.parse_malformed.ValueError, /^Malformed JSON: .*line 1, column \d+/)
        assert.deepStrictEqual(got.validate_bad, {
          ValueError: "Invalid payload (1 problem): learning_rate: Expected a number less than or equal to 1, got 5."
        })
        assert.deepStrictEqual(got.template_no_map, { ValueError: "Invalid dataset2gw: dataset2gw: is missing." })
        assert.match(got.template_bad_payload.ValueError, /^Invalid payload \(1 problem\): optimizer_name: /)
      }),
    { timeout: 120_000 }
  )

  it.live("raises SecureRuntimeError, not ValueError, when the runtime's template fails", () =>
    Effect.gen(function*() {
      const out = mkdtempSync(join(tmpdir(), "fedkit-sr-python-"))
      const exported = yield* Effect.promise(() =>
        runCli(["export-python", "--module", fixture("throwing-template"), "--out", out, "--bin", binPath()])
      )
      assert.strictEqual(exported.code, 0, exported.stderr)
      const script = `
import importlib.util, sys
spec = importlib.util.spec_from_file_location("srs", sys.argv[1])
srs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(srs)
payload = srs.parse('{"num_rounds": 2}')
try:
    srs.template(payload, {"d": "gw-1"})
except ValueError:
    print("ValueError")
except srs.SecureRuntimeError as exc:
    print("SecureRuntimeError:", exc)
`
      const result = yield* Effect.promise(() =>
        new Promise<string>((resolve) =>
          execFile(
            "python3",
            ["-c", script, join(out, "secure_runtime_service.py")],
            { env: { ...process.env, FEDKIT_NODE: process.execPath } },
            (_error, stdout, stderr) => resolve(stdout + stderr)
          )
        )
      )
      assert.match(result, /^SecureRuntimeError: The runtime's template failed: .*the template exploded/)
    }), { timeout: 120_000 })
})

/** Calls the shim three times, kills its Node process, calls again; prints the Node processes seen at each step. */
const LIFETIME_SCRIPT = `
import importlib.util, json, os, signal, sys, time
spec = importlib.util.spec_from_file_location("srs", sys.argv[1])
srs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(srs)
d2g = json.loads(sys.argv[2])
def children():
    me = os.getpid()
    with open("/proc/%d/task/%d/children" % (me, me)) as f:
        return sorted(int(pid) for pid in f.read().split())
def state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"
def job():
    payload = srs.parse('{"optimizer_name": "sgd"}')
    srs.validate(payload)
    return sorted(srs.template(payload, d2g))
out = {"before": children(), "calls": []}
for _ in range(3):
    job()
    out["calls"].append(children())
killed = out["calls"][0][0]
os.kill(killed, signal.SIGKILL)
while state(killed) not in ("Z", "gone"):
    time.sleep(0.01)
out["after_kill"] = job()
out["children_after_kill"] = children()
out["killed_state"] = state(killed)
print(json.dumps(out), flush=True)
`

describe("export-python, one Node process", () => {
  it.live(
    "starts Node on the first call, keeps it, starts another if it dies, and leaves no process behind",
    () =>
      Effect.gen(function*() {
        const { out } = yield* exportGood
        const result = yield* python(LIFETIME_SCRIPT, [
          join(out, "secure_runtime_service.py"),
          JSON.stringify(DATASET2GW)
        ])
        assert.strictEqual(result.code, 0, result.stderr)
        const got = JSON.parse(result.stdout) as {
          before: Array<number>
          calls: Array<Array<number>>
          after_kill: Array<string>
          children_after_kill: Array<number>
          killed_state: string
        }
        assert.deepStrictEqual(got.before, [], "Node starts on the first call, not on import")
        const [first] = got.calls
        assert.strictEqual(first?.length, 1)
        assert.deepStrictEqual(got.calls, [first, first, first], "every call goes to the same Node process")
        assert.include(got.after_kill, "meta.json")
        assert.strictEqual(got.children_after_kill.length, 1)
        assert.notStrictEqual(got.children_after_kill[0], first?.[0])
        assert.strictEqual(got.killed_state, "gone", "the killed process was reaped, not left a zombie")
        // Python has exited: its Node process exited with it.
        const last = got.children_after_kill[0]!
        assert.throws(() => process.kill(last, 0), /ESRCH/)
      }),
    { timeout: 120_000 }
  )
})
