// Runs job files in `nvflare simulator` (the project's venv, through ./simulator.ts).
import { Path } from "@effect/platform"
import * as Effect from "effect/Effect"
import { sites } from "./fedavgJob.js"
import { tempDir, writeFiles } from "./python.js"
import * as Simulator from "./simulator.js"

export const READ_MODEL = `
import json, sys
import numpy as np
print(json.dumps(np.load(json.load(sys.stdin)).tolist()))
`

// Writes the files into a fresh job folder and runs them with one client worker per client.
export const simulate = (files: Readonly<Record<string, string>>, clients: number, env?: Record<string, string>) =>
  Effect.gen(function*() {
    const root = yield* tempDir("flare-config-job-")
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
