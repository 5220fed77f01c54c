/**
 * What a finished job left in the server's run folder: the global model and the metrics FLARE recorded. The names
 * are FLARE's own (`_JOB_DOWNLOAD_GLOBAL_MODEL_NAMES` and `artifact_manifest.json` in `nvflare/tool/job/job_cli.py`,
 * `MetricsArtifactWriter`, `ValidationJsonGenerator`), plus `server.npy`, where `NPModelPersistor` saves.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as path from "node:path"
import type { Metrics } from "../FlareRunner.js"
import * as fs from "./files.js"

const GLOBAL_MODEL_NAMES = [
  "FL_global_model.pt",
  "global_model.pt",
  "global_model.pth",
  "best_FL_global_model.pt",
  "best_global_model.pt",
  "model_global.json",
  "model_global.joblib",
  "server.npy"
]

export interface Artifacts {
  readonly globalModel: Option.Option<string>
  readonly metrics: Metrics
}

const parse = (text: string): Option.Option<unknown> => {
  try {
    return Option.some(JSON.parse(text) as unknown)
  } catch {
    return Option.none()
  }
}

export const discover = (runDir: string): Effect.Effect<Artifacts, never> =>
  Effect.gen(function*() {
    const relative = (yield* fs.readDirectory(runDir, { recursive: true }).pipe(Effect.orElseSucceed(() => [])))
      .map((file) => file.split(path.sep).join("/"))
      .sort()
    const readText = (file: string) => fs.readFileString(path.join(runDir, file)).pipe(Effect.option)
    const find = (name: string) =>
      Option.fromNullable(relative.find((file) => file === name || file.endsWith(`/${name}`)))

    let globalModel = Option.none<string>()
    const manifest = yield* Option.match(find("artifact_manifest.json"), {
      onNone: () => Effect.succeed(Option.none<string>()),
      onSome: (file) => readText(file)
    })
    const declared = Option.flatMap(manifest, parse).pipe(
      Option.flatMap((value) => {
        const record = value as { schema_version?: unknown; artifacts?: { global_model?: unknown } }
        const model = record.artifacts?.global_model
        return record.schema_version === "1" && typeof model === "string" && !path.isAbsolute(model) &&
            !model.split("/").includes("..")
          ? Option.some(model)
          : Option.none()
      })
    )
    if (Option.isSome(declared) && relative.some((file) => file.endsWith(declared.value))) {
      globalModel = Option.some(path.join(runDir, relative.find((file) => file.endsWith(declared.value))!))
    } else {
      for (const name of GLOBAL_MODEL_NAMES) {
        const found = find(name)
        if (Option.isSome(found)) {
          globalModel = Option.some(path.join(runDir, found.value))
          break
        }
      }
    }

    const json = (name: string) =>
      Option.match(find(name), {
        onNone: () => Effect.succeed(Option.none<unknown>()),
        onSome: (file) => readText(file).pipe(Effect.map(Option.flatMap(parse)))
      })
    const rounds = yield* Option.match(find("round_metrics.jsonl"), {
      onNone: () => Effect.succeed<ReadonlyArray<unknown>>([]),
      onSome: (file) =>
        readText(file).pipe(
          Effect.map((text) =>
            Option.getOrElse(text, () => "")
              .split("\n")
              .flatMap((line) => Option.toArray(parse(line)))
          )
        )
    })
    return {
      globalModel,
      metrics: {
        summary: yield* json("metrics_summary.json"),
        rounds,
        crossSiteValidation: yield* json("cross_val_results.json")
      }
    }
  })
