/**
 * Entry point of the trainer bundle (`fedkit_trainer.mjs`) that FLARE's Python bridge starts with `node`: stdin and
 * stdout carry the binary protocol, stderr carries log lines, each prefixed `fedkit-trainer` (the bridge forwards
 * only such lines to the FLARE log). The DAL settings come from the `APH_*` environment the bridge passes on.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { DalClient } from "@fedkit/dal-client"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Protocol from "./Protocol.js"
import * as StdioChannel from "./StdioChannel.js"
import * as Trainer from "./Trainer.js"
import { fromDalError, fromDefect, TrainerFailure } from "./TrainerFailure.js"

// Anything a library prints with console.log would corrupt the frame stream on stdout: send it to stderr, where the
// bridge drops lines without the trainer's prefix.
/* eslint-disable no-console -- re-pointing console is the point here */
console.log = console.error
console.info = console.error
/* eslint-enable no-console */

const stderrLogger = Logger.make(({ logLevel, message }) => {
  const text = (Array.isArray(message) ? message : [message]).map(String).join(" ")
  process.stderr.write(`fedkit-trainer ${logLevel.label}: ${text}\n`)
})

const channel = StdioChannel.make(() => process.stdin, process.stdout)

const dal = DalClient.layerNode.pipe(Layer.catchAll((error) => Layer.fail(fromDalError(error, "preflight/settings"))))

const program = Effect.gen(function*() {
  if (!Protocol.hostIsLittleEndian) {
    return yield* new TrainerFailure({
      type: "UnsupportedHost",
      place: "start",
      reason: "the host is not little-endian"
    })
  }
  yield* Trainer.run(channel).pipe(Effect.provide(Layer.merge(dal, NodeContext.layer)))
}).pipe(
  // A defect while the layers are built happens outside Trainer.run's own guard.
  Effect.catchAllDefect((defect) => Effect.fail(fromDefect(defect, "start"))),
  Trainer.reportTo(channel),
  // Let the process end: stdin would otherwise keep the event loop alive after a Shutdown.
  Effect.ensuring(Effect.sync(() => process.stdin.destroy())),
  Effect.provide(Logger.replace(Logger.defaultLogger, stderrLogger))
)

NodeRuntime.runMain(program, { disableErrorReporting: true, disablePrettyLogger: true })
