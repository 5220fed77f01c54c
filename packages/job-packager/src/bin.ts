#!/usr/bin/env node
import { ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Option } from "effect"
import * as Cli from "./Cli.js"

Cli.run(process.argv).pipe(
  Effect.tapErrorCause((cause) => {
    const failure = Cause.failureOption(cause)
    // @effect/cli has already printed usage errors.
    if (Option.exists(failure, ValidationError.isValidationError)) return Effect.void
    if (Option.isSome(failure) && failure.value instanceof Error) {
      return Console.error(`fedkit-job: ${failure.value.message}`)
    }
    return Cause.isInterruptedOnly(cause)
      ? Console.error("fedkit-job: interrupted")
      : Console.error(Cause.pretty(cause))
  }),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
