/**
 * Log lines written straight to the loggers a runtime carries, at its minimum level, without running a fiber per
 * line. The server logs one line per request, and a fiber per line cost more than the line itself; where the loggers
 * are JSON line loggers, the line is written straight out, which saves building the logger's inputs too.
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as HashMap from "effect/HashMap"
import * as Inspectable from "effect/Inspectable"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import type * as Runtime from "effect/Runtime"
import * as Tracer from "effect/Tracer"
import * as JsonLine from "./jsonLine.js"

export type LogLine = (
  level: LogLevel.LogLevel,
  message: string,
  annotations: Readonly<Record<string, unknown>>,
  cause?: Cause.Cause<unknown>
) => void

/**
 * Where the lines can go without Effect's logger machinery: when every logger is a JSON line logger (see `JsonLog`)
 * or the tracer's (which does nothing outside a span), and the inherited annotations are plain values, a line is
 * the same JSON written straight to the same places. Anything else (another logger, a span): none.
 */
const directWriters = (
  loggers: Iterable<Logger.Logger<unknown, unknown>>,
  refs: FiberRefs.FiberRefs,
  inherited: HashMap.HashMap<string, unknown>
): ReadonlyArray<JsonLine.Write> | undefined => {
  const inSpan = Option.isSome(
    Context.getOption(FiberRefs.getOrDefault(refs, FiberRef.currentContext), Tracer.ParentSpan)
  )
  if (inSpan) return undefined
  for (const [, value] of inherited) {
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") return undefined
  }
  const writes: Array<JsonLine.Write> = []
  for (const logger of loggers) {
    if (logger === Logger.tracerLogger) continue
    const write = JsonLine.writerOf(logger as Logger.Logger<unknown, void>)
    if (write === undefined) return undefined
    writes.push(write)
  }
  return writes
}

/** Logs as a fiber of `runtime` would (its loggers, minimum level, annotations and spans). */
export const fromRuntime = (runtime: Runtime.Runtime<never>): LogLine => {
  const refs = runtime.fiberRefs
  const loggers = FiberRefs.getOrDefault(refs, FiberRef.currentLoggers)
  const minimum = FiberRefs.getOrDefault(refs, FiberRef.currentMinimumLogLevel)
  const inherited = FiberRefs.getOrDefault(refs, FiberRef.currentLogAnnotations)
  const spans = FiberRefs.getOrDefault(refs, FiberRef.currentLogSpan)
  const direct = directWriters(loggers, refs, inherited)
  const inheritedEntries = [...inherited]
  return (logLevel, message, annotations, cause = Cause.empty) => {
    if (LogLevel.greaterThan(minimum, logLevel)) return
    if (direct !== undefined && Cause.isEmpty(cause)) {
      const line = JsonLine.format(new Date(), logLevel.label, message, inheritedEntries, annotations)
      for (const write of direct) write(line)
      return
    }
    const all = HashMap.mutate(inherited, (map) => {
      for (const key of Object.keys(annotations)) HashMap.set(map, key, annotations[key])
    })
    const options = {
      fiberId: FiberId.none,
      logLevel,
      message: [message],
      cause,
      context: refs,
      spans,
      annotations: all,
      date: new Date()
    }
    Inspectable.withRedactableContext(refs, () => {
      for (const logger of loggers) logger.log(options)
    })
  }
}
