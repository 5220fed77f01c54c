// The harness itself (test/support/simulator.ts): a run that cannot finish is stopped at its bound together with every
// process FLARE started for it, in sessions of their own included, and its workspace is left for the failure message
// to point at.
import { FileSystem, Path } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { readFileSync } from "node:fs"
import { sites } from "../support/fedavgJob.js"
import { FlareLive, writeFiles } from "../support/python.js"
import { allMeta, externalClient, fedAvgServer, persistor, rawFiles } from "../support/rawJob.js"
import * as Simulator from "../support/simulator.js"

// Never says hello, so FLARE waits `launch_timeout` (300 s by default) for it, and leaves a daemon behind (double
// fork, own session): an orphan, out of the simulator's process group and out of the process tree FLARE's workers
// kill when the simulator dies. Both write their pids.
const STUCK_TRAINER = `import os, sys, time
def started():
    open(os.path.join(sys.argv[1], str(os.getpid())), "w").close()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        started()
        time.sleep(3600)
    os._exit(0)
started()
time.sleep(3600)
`

// Running, as opposed to gone or dead and not yet reaped (a zombie, which `kill(pid, 0)` still finds).
const running = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2))
  } catch {
    return false
  }
}

layer(FlareLive, { excludeTestServices: true })("the simulator harness", (it) => {
  it.scoped(
    "a run past its bound fails with its log, leaves no process behind and keeps its workspace",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const root = yield* fs.makeTempDirectoryScoped({ prefix: "flare-config-harness-" })
        const pids = path.join(root, "pids")
        yield* fs.makeDirectory(pids)
        const jobDir = path.join(root, "job")
        yield* writeFiles(
          jobDir,
          rawFiles(allMeta, {
            app: {
              server: fedAvgServer({ num_rounds: 1 }, [persistor]),
              client: externalClient({ command: ["python3", "custom/train.py", pids] }),
              custom: { "train.py": STUCK_TRAINER }
            }
          })
        )
        const workspace = path.join(root, "workspace")
        const error = yield* Effect.flip(
          Simulator.run({ jobDir, workspace, clients: sites(2), timeout: "40 seconds" })
        )
        assert.include(error.message, "did not finish within 40s")
        assert.include(error.message, `kept at ${workspace}`)
        assert.include(error.message, "launching external trainer")
        assert.isTrue(yield* fs.exists(path.join(workspace, "server", "log.txt")))
        // Two trainers (FLARE's start_new_session) and their daemons, all out of the simulator's process group.
        const started = (yield* fs.readDirectory(pids)).map(Number)
        assert.lengthOf(started, 4)
        assert.deepStrictEqual(started.filter(running), [])
      }),
    { timeout: 90_000 }
  )
})
