/**
 * The undici connection pool and its request API, loaded piecemeal: undici's index also brings fetch, WebSocket,
 * caches and mocks, about 10 MB of memory the CLI would carry for nothing. undici has no `exports` map, so these
 * paths are reachable; the dependency range pins the major version they belong to.
 */
import { createRequire } from "node:module"
import type * as Undici from "undici"

const require = createRequire(import.meta.url)

export const Agent: typeof Undici.Agent = require("undici/lib/dispatcher/agent.js")

const requestApi: (
  this: Undici.Dispatcher,
  options: Undici.Dispatcher.RequestOptions
) => Promise<Undici.Dispatcher.ResponseData> = require("undici/lib/api/api-request.js")

/** `dispatcher.request(options)`, for any undici Dispatcher (also one built without undici's index). */
export const request = (
  dispatcher: Undici.Dispatcher,
  options: Undici.Dispatcher.RequestOptions
): Promise<Undici.Dispatcher.ResponseData> => requestApi.call(dispatcher, options)
