// nvflare 2.8.1's source, for checking what a 2.8 target emits against the release it targets. The wheel comes from
// PyPI through pip with its hash pinned, once per checkout (node_modules/.cache), and is never imported by the 2.9 venv
// except where a test puts it first on PYTHONPATH.
import { fileURLToPath } from "node:url"
import { runPython } from "./python.js"

export const NVFLARE_28 = {
  version: "2.8.1",
  sha256: "55d1b77af3f5125ade0532fa1c6821902b6eae6a101c4d8b6c6efbb77096cd20"
} as const

const cacheDir = fileURLToPath(new URL("../../node_modules/.cache/flare-config", import.meta.url))

const FETCH = `
import json, os, shutil, subprocess, sys, tempfile, zipfile
spec = json.load(sys.stdin)
dest = os.path.join(spec["cache"], "nvflare-" + spec["version"])
if not os.path.exists(os.path.join(dest, "nvflare", "__init__.py")):
    os.makedirs(spec["cache"], exist_ok=True)
    work = tempfile.mkdtemp(dir=spec["cache"])
    try:
        requirements = os.path.join(work, "requirements.txt")
        with open(requirements, "w") as f:
            f.write("nvflare==%s --hash=sha256:%s\\n" % (spec["version"], spec["sha256"]))
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
             "--require-hashes", "-r", requirements, "-d", work],
            check=True, stdout=sys.stderr)
        wheel = next(name for name in os.listdir(work) if name.endswith(".whl"))
        unpacked = os.path.join(work, "src")
        zipfile.ZipFile(os.path.join(work, wheel)).extractall(unpacked)
        try:
            os.rename(unpacked, dest)  # atomic; a concurrent run may have won, which is fine
        except OSError:
            pass
    finally:
        shutil.rmtree(work, ignore_errors=True)
print(json.dumps(dest))
`

/** The directory holding nvflare 2.8.1's `nvflare/` package, downloading it on first use. */
export const nvflare28Source = runPython<string>(FETCH, { cache: cacheDir, ...NVFLARE_28 })
