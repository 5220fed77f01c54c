#!/usr/bin/env node
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Cli from "./Cli.js"

Cli.run(process.argv).pipe(
  Effect.tapErrorCause((cause) => {
    const failure = Cause.failureOption(cause)
    // the CLI already printed usage errors
    if (Option.exists(failure, ValidationError.isValidationError)) return Effect.void
    if (Option.isSome(failure) && failure.value instanceof Error) {
      return Console.error(`fedkit-dal-server: ${failure.value.message}`)
    }
    return Console.error(Cause.pretty(cause))
  }),
  Effect.provide(NodeContext.layer),
  Effect.provide(Cli.jsonLogger),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
