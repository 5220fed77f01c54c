/**
 * What a DAL's answer means for the caller: a transport failure or a non-2xx status becomes a retryable `Transient`
 * or the typed error to report. Every text quoted from the server is scrubbed of the token first, then cut.
 */
import * as Option from "effect/Option"
import {
  DalAuthError,
  type DalError,
  DalIntegrityError,
  DalNotFound,
  DalStatusError,
  DalTransportError,
  type Subject
} from "../DalError.js"
import type { TransportFailure } from "../DalTransport.js"
import { isTransientStatus, parseRetryAfter, Transient } from "./retry.js"
import type { Scrubber } from "./scrub.js"

/** How much of an error reply's body is read for its message, and how much of its first line is shown. */
export const errorTextBytes = 512
const detailChars = 200

export const transient = (subject: Subject, reason: string) =>
  new Transient({
    final: (attempts) => new DalTransportError({ ...subject, reason, attempts }),
    retryAfter: Option.none()
  })

/** A transport failure: refusals and unsendable requests are final, the rest worth another attempt. */
export const fromTransport = (subject: Subject, scrub: Scrubber, failure: TransportFailure): Transient | DalError => {
  const reason = scrub.text(failure.reason)
  switch (failure.kind) {
    case "request":
      return new DalTransportError({ ...subject, reason, attempts: 1 })
    case "refused":
      return new DalIntegrityError({ ...subject, reason: `refused the DAL's response: ${reason}` })
    default:
      return transient(subject, reason)
  }
}

/** A non-2xx status, with the first line of its body (already read, at most {@link errorTextBytes}) as detail. */
export const fromStatus = (
  subject: Subject,
  scrub: Scrubber,
  status: number,
  headers: Readonly<Record<string, string | undefined>>,
  text: string
): Transient | DalError => {
  const detail = scrub.text(text.split(/\r?\n/)[0] ?? "").trim().slice(0, detailChars)
  if (status === 401 || status === 403) return new DalAuthError({ ...subject, status })
  if (status === 404 || status === 410) return new DalNotFound(subject)
  if (isTransientStatus(status)) {
    return new Transient({
      final: (attempts) => new DalStatusError({ ...subject, status, attempts, detail }),
      retryAfter: parseRetryAfter(headers["retry-after"], Date.now())
    })
  }
  return new DalStatusError({ ...subject, status, attempts: 1, detail })
}
