/** `GET|HEAD policies/{key}`: the policy governing a key, exactly as configured. */
import * as Effect from "effect/Effect"
import { governingPolicy } from "../access.js"
import { type Exchange, HttpError } from "../exchange.js"
import type { Key } from "../keys.js"
import { sendJson } from "../response.js"

export const servePolicy = (ex: Exchange, key: Key) => {
  const { policies } = ex.config
  const found = governingPolicy(policies, key)
  return found === undefined
    ? Effect.fail(new HttpError({ status: 404, reason: `no policy for ${key.key} or any folder enclosing it` }))
    : sendJson(ex, 200, policies.get(found))
}
