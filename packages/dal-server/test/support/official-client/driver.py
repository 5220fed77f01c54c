"""Runs the platform's official Python DAL client (apheris-utils) for the compatibility suite.

Reads {"steps": [{"env": {...}, "call": "...", "args": {...}}]} on stdin; each step sets its APH_* variables and
calls one function of apheris_utils.data. Prints one JSON line: a list with, per step, either
{"ok": true, "result": ..., "files": {relative path: sha256}} or {"ok": false, "error": "<class>", "message": "..."}.
"""
import hashlib
import json
import os
import sys
from pathlib import Path

from apheris_utils import data


def tree(folder):
    root = Path(folder)
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run(call, args):
    if call == "download_dataset":
        result = data.download_dataset(args["id"], args["folder"])
    elif call == "download_all":
        result = data.download_all(args["folder"])
    elif call == "get_asset_policies":
        return data.get_asset_policies(args["ids"]), None
    elif call == "persist_bytes":
        return data.persist_bytes(args["name"], args["text"].encode("utf-8"), args["file"]), None
    elif call == "persist_file":
        return data.persist_file(args["name"], Path(args["path"]), args.get("file")), None
    elif call == "list_remote_files":
        return [f.key for f in data.primitives.list_remote_files(args["id"])], None
    else:
        raise ValueError(f"unknown call {call}")
    return {k: str(v) for k, v in result.items()}, tree(args["folder"])


out = []
for step in json.load(sys.stdin)["steps"]:
    os.environ.update(step.get("env", {}))
    try:
        result, files = run(step["call"], step.get("args", {}))
        out.append({"ok": True, "result": result, "files": files})
    except Exception as e:  # noqa: BLE001 - every failure is reported to the test
        out.append({"ok": False, "error": type(e).__name__, "message": str(e)[:500]})
print(json.dumps(out))
