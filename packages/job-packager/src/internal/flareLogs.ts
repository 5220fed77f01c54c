/**
 * Reading FLARE's verdict from its logs. The exit status alone is not enough: nvflare 2.8 could exit 0 after the
 * server app failed, and 2.9 still exits 0 when a site stops with FATAL_SYSTEM_ERROR (a trainer that crashes before
 * its handshake): the server is merely asked to abort. So a run only succeeds when no server or site log holds a
 * fatal record.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { SITE_FAILURE_MARKER } from "../FlareRunner.js"
import * as fs from "./files.js"

/** One record of FLARE's structured log (`log.json`: one JSON object per line). */
export interface LogRecord {
  readonly level: string
  readonly logger: string
  readonly message: string
}

/** Messages FLARE logs when a run cannot go on (see `system_panic`, `ServerAppRunner`, `SimulatorRunner`). */
const FATAL_MESSAGES: ReadonlyArray<RegExp> = [
  /FATAL_SYSTEM_ERROR/,
  /FL server execution exception/,
  /Could not start the Server App/,
  /Simulator (run|setup) error/
]

export const isFatal = (record: LogRecord): boolean =>
  record.level === "CRITICAL" ||
  (record.level === "ERROR" && FATAL_MESSAGES.some((pattern) => pattern.test(record.message)))

export const parseRecords = (text: string): Array<LogRecord> =>
  text.split("\n").flatMap((line) => {
    if (!line.startsWith("{")) return []
    try {
      const value = JSON.parse(line) as Record<string, unknown>
      return [{
        level: String(value["levelname"] ?? ""),
        logger: String(value["name"] ?? ""),
        message: String(value["message"] ?? "")
      }]
    } catch {
      return []
    }
  })

/** The records of a `log.json`; none when it does not exist. */
export const readRecords = (file: string): Effect.Effect<Array<LogRecord>> =>
  fs.readFileString(file).pipe(
    Effect.map(parseRecords),
    Effect.orElseSucceed(() => [])
  )

/** The informative line of a message: a traceback's last line (the exception), else its first line. */
export const summarize = (message: string): string => {
  const lines = message.split("\n").map((line) => line.trim()).filter((line) => line !== "")
  const line = lines[0]?.startsWith("Traceback") ? lines[lines.length - 1] : lines[0]
  const text = line ?? ""
  return text.length > 500 ? `${text.slice(0, 500)}…` : text
}

/**
 * Why a site failed, if this record says so: a trainer's own report (the marker line), else FLARE's fatal record.
 * Reports win over FLARE's line, which only says that the trainer's process exited.
 */
export const siteFailureOf = (
  record: LogRecord
): { readonly reason: string; readonly reported: boolean } | undefined => {
  const at = record.message.indexOf(SITE_FAILURE_MARKER)
  if (at >= 0) {
    const reason = summarize(record.message.slice(at + SITE_FAILURE_MARKER.length).split("\n")[0] ?? "")
    if (reason !== "") return { reason, reported: true }
  }
  return isFatal(record) ? { reason: summarize(record.message), reported: false } : undefined
}

/** The first site failure in one site's records: the first report, else the first fatal record. */
export const siteFailure = (records: ReadonlyArray<LogRecord>): string | undefined => {
  let fatal: string | undefined
  for (const record of records) {
    const found = siteFailureOf(record)
    if (found?.reported === true) return found.reason
    fatal ??= found?.reason
  }
  return fatal
}

/**
 * The site a server record says stopped: FLARE's controller logs `received dead job report for client <site>` when a
 * site's job process is gone while the job runs, then aborts the job once the site's grace has passed ("deployment
 * policy violation"), without the site's reason.
 */
export const deadSiteOf = (record: LogRecord): string | undefined =>
  /received dead job report for client ([A-Za-z0-9_-]{1,64})\b/.exec(record.message)?.[1]

export interface Verdict {
  /** Where the first fatal record was found (`server`, a site name), if any. */
  readonly fatalAt?: string
  /** FLARE's own line: the first fatal record, else the first ERROR record. */
  readonly errorLine?: string
}

/** Looks through each participant's records (server first) for the first fatal one. */
export const verdict = (records: ReadonlyArray<readonly [string, ReadonlyArray<LogRecord>]>): Verdict => {
  for (const [participant, list] of records) {
    const fatal = list.find(isFatal)
    if (fatal !== undefined) return { fatalAt: participant, errorLine: `${participant}: ${summarize(fatal.message)}` }
  }
  for (const [participant, list] of records) {
    const error = list.find((record) => record.level === "ERROR" || record.level === "CRITICAL")
    if (error !== undefined) return { errorLine: `${participant}: ${summarize(error.message)}` }
  }
  return {}
}

/** The last console line that looks like an error, for when no structured log exists. */
export const errorFromConsole = (lines: ReadonlyArray<string>): string | undefined => {
  const line = lines.findLast((candidate) => /\b(ERROR|CRITICAL)\b|Error:|Exception:/.test(candidate))
  return line === undefined ? undefined : summarize(line)
}

/** Replaces every secret value in a line: FLARE (or a trainer) may print what it was given. */
export const redactor = (secrets: ReadonlyArray<Redacted.Redacted<string>>): (line: string) => string => {
  const values = secrets.map((secret) => Redacted.value(secret)).filter((value) => value.length >= 4)
  if (values.length === 0) return (line) => line
  return (line) => values.reduce((text, value) => text.split(value).join("<redacted>"), line)
}
