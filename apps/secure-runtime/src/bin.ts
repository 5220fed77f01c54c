#!/usr/bin/env node
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Exit, Option } from "effect"
import * as Cli from "./Cli.js"
import * as JsonLog from "./JsonLog.js"

Cli.run(process.argv).pipe(
  Effect.catchAll((error) =>
    Effect.flatMap(Cli.report(error), (code) => code === 0 ? Effect.void : Effect.fail(new Cli.Exit({ code })))
  ),
  Effect.provide(NodeContext.layer),
  Effect.provide(JsonLog.layer),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    disablePrettyLogger: true,
    teardown: (exit, onExit) => {
      if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) return onExit(0)
      const failure = Cause.failureOption(exit.cause).pipe(Option.filter((error) => error instanceof Cli.Exit))
      if (Option.isNone(failure)) process.stderr.write(`secure-runtime: internal error\n${Cause.pretty(exit.cause)}\n`)
      onExit(Option.isSome(failure) ? failure.value.code : 1)
    }
  })
)
