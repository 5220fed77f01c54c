#!/usr/bin/env node
/**
 * `gateway-trainer`: the reference model's command line, under fedkit's CLI policy (`@fedkit/cli-policy`).
 *
 * - `gateway-trainer evaluate <model.npy> [--json]`: the held-out accuracy of a global model FLARE saved
 *   (`RunResult.globalModel` of `fedkit-job run`, on any target). One line on stdout, or one JSON object with
 *   `--json`; exit 1 with one line on stderr when the file is not such a model, exit 2 for a usage error.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { CliMain } from "@fedkit/cli-policy"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { createRequire } from "node:module"
import * as HeldOut from "./HeldOut.js"

// The version users see in --version is the package's.
const packageVersion = (createRequire(import.meta.url)("../package.json") as { readonly version: string }).version

const evaluate = Command.make(
  "evaluate",
  {
    model: Args.text({ name: "model.npy" }).pipe(Args.withDescription("A global model FLARE saved (server.npy)")),
    json: Options.boolean("json").pipe(Options.withDescription("Print the result as one JSON object"))
  },
  (args) =>
    Effect.gen(function*() {
      const report = yield* HeldOut.evaluate(args.model)
      yield* Console.log(
        args.json
          ? JSON.stringify(report)
          : `held-out accuracy ${report.accuracy.toFixed(3)} (${report.rows} rows never seen in training), loss ${
            report.loss.toFixed(4)
          }, model ${report.model}`
      )
    })
).pipe(Command.withDescription("The held-out accuracy of a saved global model"))

const command = Command.make("gateway-trainer").pipe(
  Command.withDescription("The reference model's command line"),
  Command.withSubcommands([evaluate])
)

// Every failure of `evaluate` is the model file's (not a model, unreadable): the policy's default line, exit 1.
CliMain.runMain(command, { name: "gateway-trainer", version: packageVersion }, NodeContext.layer)
