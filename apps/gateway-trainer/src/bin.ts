#!/usr/bin/env node
/**
 * `gateway-trainer`: the reference model's command line.
 *
 * - `gateway-trainer evaluate <model.npy> [--json]`: the held-out accuracy of a global model FLARE saved
 *   (`RunResult.globalModel` of `fedkit-job run`, on any target). One line on stdout, or one JSON object with
 *   `--json`; exit 1 with one line on stderr when the file is not such a model.
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Data, Effect } from "effect"
import * as HeldOut from "./HeldOut.js"

class Usage extends Data.TaggedError("Usage")<{ readonly reason: string }> {
  override get message(): string {
    return `${this.reason}; usage: gateway-trainer evaluate <model.npy> [--json]`
  }
}

const main = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const [command, ...rest] = argv
    if (command !== "evaluate") return yield* new Usage({ reason: `unknown command ${JSON.stringify(command ?? "")}` })
    const json = rest.includes("--json")
    const files = rest.filter((arg) => arg !== "--json")
    if (files.length !== 1 || files[0]!.startsWith("--")) return yield* new Usage({ reason: "give one model file" })
    const report = yield* HeldOut.evaluate(files[0]!)
    yield* Console.log(
      json
        ? JSON.stringify(report)
        : `held-out accuracy ${report.accuracy.toFixed(3)} (${report.rows} rows never seen in training), loss ${
          report.loss.toFixed(4)
        }, model ${report.model}`
    )
  })

main(process.argv.slice(2)).pipe(
  Effect.tapError((error) => Console.error(`gateway-trainer: ${error.message}`)),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
