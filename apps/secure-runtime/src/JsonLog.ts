/**
 * Logs as JSON lines on standard error (standard output carries results: the server's URL, a render's summary):
 * `{"time","level","msg",...annotations}`. Callers annotate with facts (request id, status, job id), never with
 * payload values; the only piece of a payload ever logged is a bounded, sanitized excerpt.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Logger from "effect/Logger"
import * as JsonLine from "./internal/jsonLine.js"
import { excerpt } from "./internal/text.js"

const render = (message: unknown): string =>
  Array.isArray(message) ? message.map(render).join(" ") : typeof message === "string" ? message : String(message)

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (write: (line: string) => void): Logger.Logger<unknown, void> =>
  JsonLine.register(
    Logger.make(({ annotations, cause, date, logLevel, message }) =>
      write(
        JsonLine.format(
          date,
          logLevel.label,
          render(message),
          Cause.isEmpty(cause) ? annotations : [...annotations, ["cause", excerpt(Cause.pretty(cause), 1000)]]
        )
      )
    ),
    write
  )

/**
 * Replaces the default logger with JSON lines on standard error.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = Logger.replace(Logger.defaultLogger, make((line) => void process.stderr.write(line)))
