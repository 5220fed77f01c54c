/**
 * Logs as JSON lines on standard error (standard output carries results: the server's URL, a render's summary):
 * `{"time","level","msg",...annotations}`. Callers annotate with facts (request id, status, job id), never with
 * payload values; the only piece of a payload ever logged is a bounded, sanitized excerpt.
 *
 * @since 0.1.0
 */
import { Cause, Logger } from "effect"
import { excerpt } from "./internal/text.js"

const render = (message: unknown): string =>
  Array.isArray(message) ? message.map(render).join(" ") : typeof message === "string" ? message : String(message)

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (write: (line: string) => void): Logger.Logger<unknown, void> =>
  Logger.make(({ annotations, cause, date, logLevel, message }) => {
    const entry: Record<string, unknown> = { time: date.toISOString(), level: logLevel.label, msg: render(message) }
    for (const [key, value] of annotations) entry[key] = value
    if (!Cause.isEmpty(cause)) entry["cause"] = excerpt(Cause.pretty(cause), 1000)
    write(`${JSON.stringify(entry)}\n`)
  })

/**
 * Replaces the default logger with JSON lines on standard error.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = Logger.replace(Logger.defaultLogger, make((line) => void process.stderr.write(line)))
