/**
 * What a request may be served is decided on what is actually served: the resolved path mapped back to its key.
 * A symlink is followed only when the grant may read where it leads and the same policy governs both ends, so a
 * link from one dataset into another can neither widen a token's scope nor carry files under the wrong policy.
 */
import * as Either from "effect/Either"
import * as path from "node:path"
import { type Grant, mayRead } from "./auth.js"
import { enclosingFolders, type Key, parseKey } from "./keys.js"

/** The policy entry governing `key`: its own, else the nearest enclosing folder's; undefined when none does. */
export const governingPolicy = (policies: ReadonlyMap<string, unknown>, key: Key): string | undefined =>
  [key.key, ...enclosingFolders(key)].find((candidate) => policies.has(candidate))

/** The key a resolved path inside the root is served as, or undefined for the root itself. */
const keyOfReal = (rootReal: string, real: string, isFolder: boolean): Key | undefined => {
  const relative = path.relative(rootReal, real).split(path.sep).join("/")
  if (relative === "" || !relative.includes("/") && !isFolder) return undefined
  return Either.getOrUndefined(parseKey(`s3://${relative}${isFolder ? "/" : ""}`))
}

export interface Access {
  readonly rootReal: string
  readonly policies: ReadonlyMap<string, unknown>
  /** The request's grant; undefined when authentication is disabled. */
  readonly grant: Grant | undefined
}

/** Whether `requested` may be served from `real`, its resolved location (inside the root). */
export const mayServe = (access: Access, requested: Key, real: string, isFolder: boolean): boolean => {
  const served = keyOfReal(access.rootReal, real, isFolder)
  if (served === undefined) return false
  if (served.key === requested.key) return true
  return (access.grant === undefined || mayRead(access.grant, served.key)) &&
    governingPolicy(access.policies, served) === governingPolicy(access.policies, requested)
}
