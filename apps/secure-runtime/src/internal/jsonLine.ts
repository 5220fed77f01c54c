// The JSON line `JsonLog` writes, and which loggers write it where, so that a line can be written straight to the
// same place without going through Effect's logger machinery (see `logLine.ts`).
import type * as Logger from "effect/Logger"

export type Write = (line: string) => void

const writers = new WeakMap<Logger.Logger<unknown, void>, Write>()

/** Remembers that `logger` writes JSON lines with `write`. */
export const register = <L extends Logger.Logger<unknown, void>>(logger: L, write: Write): L => {
  writers.set(logger, write)
  return logger
}

/** Where `logger` writes its JSON lines, if it is a JSON line logger. */
export const writerOf = (logger: Logger.Logger<unknown, void>): Write | undefined => writers.get(logger)

/** `{"time","level","msg",...annotations,...fields}` and a newline. */
export const format = (
  date: Date,
  level: string,
  msg: string,
  annotations: Iterable<readonly [string, unknown]>,
  fields?: Readonly<Record<string, unknown>>
) => {
  const entry: Record<string, unknown> = { time: date.toISOString(), level, msg }
  for (const [key, value] of annotations) entry[key] = value
  if (fields !== undefined) { for (const key of Object.keys(fields)) entry[key] = fields[key] }
  return `${JSON.stringify(entry)}\n`
}
