/** Which route serves a request: the endpoint picks it, and the method must be one the route answers. */
import * as Effect from "effect/Effect"
import type { Access } from "./access.js"
import { mayRead } from "./auth.js"
import { type Exchange, headerFault, HttpError, requireGrant } from "./exchange.js"
import type { FaultRequest } from "./faults.js"
import { type Key, parseKey, parseTarget, type RequestTarget } from "./keys.js"
import { serveFile } from "./routes/files.js"
import { serveListing } from "./routes/listing.js"
import { servePolicy } from "./routes/policies.js"
import { receiveDerived } from "./routes/uploads.js"

interface Read {
  readonly access: Access
  readonly key: Key
  readonly faultRequest: FaultRequest
}

/**
 * The steps every read shares: a grant, a valid key, a token scope covering it, then any header fault. Faults fire
 * only after authentication and authorisation, so they never hide a 401/403.
 */
const authorizedRead = (ex: Exchange, target: RequestTarget & { readonly endpoint: "datasets" | "policies" }) =>
  Effect.gen(function*() {
    const grant = yield* requireGrant(ex)
    ex.key = target.rest
    const key = yield* parseKey(target.rest)
    if (grant !== undefined && !mayRead(grant, key.key)) {
      return yield* new HttpError({ status: 403, reason: `token "${grant.name}" may not read ${key.key}` })
    }
    const faultRequest: FaultRequest = { method: ex.req.method ?? "GET", endpoint: target.endpoint, key: key.key }
    yield* headerFault(ex, faultRequest)
    const read: Read = {
      access: { rootReal: ex.config.rootReal, policies: ex.config.policies, grant },
      key,
      faultRequest
    }
    return read
  })

const routes = {
  datasets: {
    methods: ["GET", "HEAD"],
    serve: (ex: Exchange, target: RequestTarget & { readonly endpoint: "datasets" }) =>
      Effect.gen(function*() {
        const { access, faultRequest, key } = yield* authorizedRead(ex, target)
        return yield* key.isFolder
          ? serveListing(ex, access, key, target.query, faultRequest)
          : serveFile(ex, access, key, faultRequest)
      })
  },
  policies: {
    methods: ["GET", "HEAD"],
    serve: (ex: Exchange, target: RequestTarget & { readonly endpoint: "policies" }) =>
      Effect.gen(function*() {
        const { key } = yield* authorizedRead(ex, target)
        return yield* servePolicy(ex, key)
      })
  },
  dataset: {
    methods: ["PUT"],
    serve: (ex: Exchange, target: RequestTarget & { readonly endpoint: "dataset" }) => receiveDerived(ex, target.rest)
  }
} as const

export const route = (ex: Exchange) =>
  Effect.gen(function*() {
    const target = yield* parseTarget(ex.req.url ?? "/")
    if (target.endpoint === "other") {
      return yield* new HttpError({
        status: 404,
        reason: `no such endpoint ${target.rawPath}: use datasets/{key}, policies/{key} or PUT dataset/{name}/{file}`
      })
    }
    const method = ex.req.method ?? "GET"
    const { methods } = routes[target.endpoint]
    if (!(methods as ReadonlyArray<string>).includes(method)) {
      return yield* new HttpError({
        status: 405,
        reason: `${method} not allowed here`,
        headers: { allow: methods.join(", ") }
      })
    }
    switch (target.endpoint) {
      case "datasets":
        return yield* routes.datasets.serve(ex, { ...target, endpoint: target.endpoint })
      case "policies":
        return yield* routes.policies.serve(ex, { ...target, endpoint: target.endpoint })
      case "dataset":
        return yield* routes.dataset.serve(ex, { ...target, endpoint: target.endpoint })
    }
  })
