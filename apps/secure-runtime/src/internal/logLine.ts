/**
 * Log lines written straight to the loggers a runtime carries, at its minimum level, without running a fiber per
 * line. The server logs one line per request, and a fiber per line cost more than the line itself.
 */
import { Cause, FiberId, FiberRef, FiberRefs, HashMap, Inspectable, LogLevel, type Runtime } from "effect"

export type LogLine = (
  level: LogLevel.LogLevel,
  message: string,
  annotations: Readonly<Record<string, unknown>>,
  cause?: Cause.Cause<unknown>
) => void

/** Logs as a fiber of `runtime` would (its loggers, minimum level, annotations and spans). */
export const fromRuntime = (runtime: Runtime.Runtime<never>): LogLine => {
  const refs = runtime.fiberRefs
  const loggers = FiberRefs.getOrDefault(refs, FiberRef.currentLoggers)
  const minimum = FiberRefs.getOrDefault(refs, FiberRef.currentMinimumLogLevel)
  const inherited = FiberRefs.getOrDefault(refs, FiberRef.currentLogAnnotations)
  const spans = FiberRefs.getOrDefault(refs, FiberRef.currentLogSpan)
  return (logLevel, message, annotations, cause = Cause.empty) => {
    if (LogLevel.greaterThan(minimum, logLevel)) return
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
