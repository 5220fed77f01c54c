/**
 * Why the trainer stopped, in a form that may travel anywhere, including the orchestrator's log: a type, a place and
 * one sentence built from fixed text and identifiers (dataset ids, variable names, HTTP statuses, line numbers).
 * Never a token, never a data value, never the free-form message of an underlying error, which may quote either.
 *
 * @since 0.1.0
 */
import type { DalError } from "@fedkit/dal-client"
import * as Match from "effect/Match"
import * as Schema from "effect/Schema"
import * as Protocol from "./Protocol.js"

/**
 * @since 0.1.0
 */
export class TrainerFailure extends Schema.TaggedError<TrainerFailure>()("TrainerFailure", Protocol.Failure.fields) {
  override get message(): string {
    return `${this.type} at ${this.place}: ${this.reason}`
  }
}

// Identifiers are echoed only when they look like identifiers; anything else is not worth the risk.
const SAFE = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$/

/**
 * A dataset id or file name fit for a log line, or a neutral stand-in.
 *
 * @since 0.1.0
 */
export const identifier = (value: string | undefined, fallback: string): string =>
  value !== undefined && SAFE.test(value) ? JSON.stringify(value) : fallback

const dataset = (datasetId: string | undefined): string => identifier(datasetId, "a dataset")

const attempts = (n: number): string => n > 1 ? ` after ${n} attempts` : ""

/**
 * Maps a DAL client error to a failure, keeping its type and the facts that carry no data.
 *
 * @since 0.1.0
 */
export const fromDalError = (error: DalError.DalError, place: string): TrainerFailure => {
  const make = (reason: string) => new TrainerFailure({ type: error._tag, place, reason })
  return Match.valueTags(error, {
    DalConfigError: (error) =>
      make(
        `the DAL settings are missing or invalid: ${
          [...new Set(error.problems.map((problem) => problem.variable))].join(", ")
        }; check the gateway's APH_* environment`
      ),
    DalAuthError: (error) =>
      make(
        error.status === 401
          ? "the DAL rejected the token (HTTP 401); check APH_DAL_TOKEN"
          : `the token may not access ${dataset(error.datasetId)} (HTTP ${error.status})`
      ),
    DalNotFound: (error) =>
      make(
        error.known === undefined
          ? `the DAL has no such key for ${dataset(error.datasetId)} (HTTP 404)`
          : `${dataset(error.datasetId)} is not in APH_DATA`
      ),
    DalStatusError: (error) =>
      make(`the DAL answered HTTP ${error.status} for ${dataset(error.datasetId)}${attempts(error.attempts)}`),
    DalTransportError: (error) =>
      make(`the DAL could not be reached or timed out${attempts(error.attempts)}; check APH_API_DAL_URL`),
    DalIntegrityError: (error) => make(`${dataset(error.datasetId)} did not arrive intact (${error.operation})`),
    DalUnsafePath: (error) =>
      make(`${dataset(error.datasetId)} holds an unsafe path; nothing was written outside the download folder`),
    DalFileError: (error) => make(`cannot write ${dataset(error.datasetId)} to the local disk`),
    DalInvalidArgument: (error) => make(`invalid ${error.argument} for ${dataset(error.datasetId)}`)
  })
}

/**
 * A defect (a bug, or an exception from a library) as a failure: the error's class name and where it was thrown
 * (file base name, line, function), never its message.
 *
 * @since 0.1.0
 */
export const fromDefect = (defect: unknown, place: string): TrainerFailure => {
  const type = defect instanceof Error ? defect.constructor.name : typeof defect
  const frame = defect instanceof Error
    ? defect.stack?.split("\n").map((line) => /at (?:(\S+) )?\(?(?:.*\/)?([^/\s()]+):(\d+):\d+\)?$/.exec(line.trim()))
      .find((match) => match !== null)
    : undefined
  const where = frame === undefined || frame === null
    ? "an unknown location"
    : `${frame[2]}:${frame[3]}${frame[1] === undefined ? "" : ` in ${frame[1]}`}`
  return new TrainerFailure({
    type: identifier(type, "Error").replaceAll("\"", ""),
    place,
    reason: `unexpected ${type === "string" ? "failure" : "error"} thrown at ${where}`
  })
}
