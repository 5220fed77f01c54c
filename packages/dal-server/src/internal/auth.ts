import * as Redacted from "effect/Redacted"
import { createHash, timingSafeEqual } from "node:crypto"

export interface Grant {
  readonly name: string
  readonly token: Redacted.Redacted<string>
  readonly prefixes: ReadonlyArray<string>
  readonly derived?: boolean
}

/** Hashing first gives equal-length inputs, so `timingSafeEqual` also hides the token length. */
const digest = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest()

export interface Authenticator {
  /** `undefined` when no grant matches. Every grant is compared, so timing does not reveal which one matched. */
  readonly authenticate: (authorization: string | undefined) => Grant | undefined
}

export const makeAuthenticator = (grants: ReadonlyArray<Grant>): Authenticator => {
  const digests = grants.map((grant) => ({ grant, digest: digest(Redacted.value(grant.token)) }))
  return {
    authenticate: (authorization) => {
      const match = authorization === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)
      if (match === null) return undefined
      const presented = digest(match[1] ?? "")
      let found: Grant | undefined
      for (const candidate of digests) {
        if (timingSafeEqual(candidate.digest, presented) && found === undefined) found = candidate.grant
      }
      return found
    }
  }
}

/** Keys a grant may read: plain string prefixes, so folder scopes should end in "/". */
export const mayRead = (grant: Grant, key: string): boolean => grant.prefixes.some((prefix) => key.startsWith(prefix))
