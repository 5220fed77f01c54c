/**
 * `config_fed_server.json`: the server side of an app. FLARE requires `format_version: 2` and at least one
 * workflow; `components` are the helpers workflows find by id; filter chains run on task data and results
 * (`nvflare/private/fed/server/server_json_config.py`).
 *
 * @since 0.1.0
 */
import type * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type * as CanonicalJson from "./CanonicalJson.js"
import { Component } from "./Component.js"
import { checkedWith } from "./internal/checked.js"
import * as configFile from "./internal/configFile.js"
import { nonEmpty, opt, PositiveNumber } from "./internal/schemas.js"
import type { DecodeError } from "./Issue.js"

const fields = Schema.Struct({
  format_version: Schema.Literal(2),
  workflows: nonEmpty(Component, "FLARE requires at least one workflow"),
  ...configFile.sharedFields,
  server: opt(
    Schema.Struct({
      heart_beat_timeout: opt(PositiveNumber),
      task_request_interval: opt(PositiveNumber)
    }).annotations({ parseOptions: { onExcessProperty: "error" } })
  )
})

/**
 * The file's schema: JSON object ⇄ typed config. Top-level keys FLARE does not interpret are config variables
 * (`"{name}"` elsewhere in the file refers to them) and are held in `variables`.
 *
 * @since 0.1.0
 */
export const ServerConfig = configFile.withVariables(fields, "ServerConfig")

/**
 * @since 0.1.0
 */
export type ServerConfig = typeof ServerConfig.Type

const file = configFile.define(ServerConfig, {
  name: "config_fed_server.json",
  // Components the catalog builders made are checked already: only how they are put together is left to check.
  assembled: { workflows: Schema.NonEmptyArray(checkedWith(Component)) }
})

/**
 * The file name, inside the app's `config/` folder.
 *
 * @since 0.1.0
 */
export const FILE = file.name

/**
 * What {@link make} takes: the config without `format_version`; lists that are empty may be left out.
 *
 * @since 0.1.0
 */
export type Input = configFile.Input<ServerConfig>

/**
 * Builds a server config from built components, checking it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Persistors, ServerConfig, Workflows } from "@fedkit/flare-config"
 *
 * const server = Effect.gen(function*() {
 *   return yield* ServerConfig.make({
 *     workflows: [yield* Workflows.fedAvg({ num_clients: 2, num_rounds: 3 })],
 *     components: [yield* Persistors.npModelPersistor({ model: [[1, 2], [3, 4]] })]
 *   })
 * })
 * ```
 *
 * @since 0.1.0
 */
export const make: (input: Input) => Either.Either<ServerConfig, DecodeError> = file.make

/**
 * Checks a config value built in code.
 *
 * @since 0.1.0
 */
export const validate: (config: ServerConfig) => Either.Either<ServerConfig, DecodeError> = file.validate

/**
 * Decodes parsed `config_fed_server.json` content; issues name `file` (default `config_fed_server.json`).
 *
 * @since 0.1.0
 */
export const decode: (input: unknown, file?: string) => Either.Either<ServerConfig, DecodeError> = file.decode

/**
 * Decodes `config_fed_server.json` text.
 *
 * @since 0.1.0
 */
export const fromJson: (text: string, file?: string) => Either.Either<ServerConfig, DecodeError> = file.fromJson

/**
 * The JSON form.
 *
 * @since 0.1.0
 */
export const encode: (config: ServerConfig) => CanonicalJson.JsonObject = file.encode

/**
 * Canonical text. Prefer `Job.toFiles`, which also checks the whole job and applies the target.
 *
 * @since 0.1.0
 */
export const toJson: (config: ServerConfig) => string = file.toJson
