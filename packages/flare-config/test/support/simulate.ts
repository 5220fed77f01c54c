// Runs job files in `nvflare simulator` (the project's venv, through ./simulator.ts).
import { FileSystem, Path } from "@effect/platform"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { sites } from "./fedavgJob.js"
import { writeFiles } from "./python.js"
import * as Simulator from "./simulator.js"

export const READ_MODEL = `
import json, sys
import numpy as np
print(json.dumps(np.load(json.load(sys.stdin)).tolist()))
`

/**
 * A fresh folder for a run, removed when the scope closes after the test passed and kept after it failed: it holds
 * the job and FLARE's logs, which is where a failure is explained.
 */
const runFolder = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const folder = yield* fs.makeTempDirectory({ prefix: "flare-config-job-" })
  yield* Effect.addFinalizer((exit) =>
    Exit.isSuccess(exit)
      ? Effect.ignore(fs.remove(folder, { recursive: true }))
      : Effect.sync(() =>
        process.stderr.write(`flare-config: the failed run's job and FLARE logs are kept in ${folder}\n`)
      )
  )
  return folder
})

// Writes the files into a fresh job folder and runs them with one client worker per client.
export const simulate = (files: Readonly<Record<string, string>>, clients: number, env?: Record<string, string>) =>
  Effect.gen(function*() {
    const root = yield* runFolder
    const path = yield* Path.Path
    const jobDir = path.join(root, "job")
    yield* writeFiles(jobDir, files)
    const workspace = path.join(root, "workspace")
    const result = yield* Simulator.run({
      jobDir,
      workspace,
      clients: sites(clients),
      ...(env === undefined ? {} : { env })
    })
    return { result, jobDir, modelFile: path.join(workspace, "server", "simulate_job", "models", "server.npy") }
  })
