/**
 * `config_fed_client.json`: the client side of an app. FLARE requires `format_version: 2` and at least one executor
 * entry (`nvflare/private/fed/client/client_json_config.py`).
 *
 * @since 0.1.0
 */
import type * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type * as CanonicalJson from "./CanonicalJson.js"
import { Component } from "./Component.js"
import { TaskExecutor } from "./Executors.js"
import { checkedWith } from "./internal/checked.js"
import * as configFile from "./internal/configFile.js"
import { nonEmpty, opt, PositiveNumber } from "./internal/schemas.js"
import type { DecodeError } from "./Issue.js"

const fields = Schema.Struct({
  format_version: Schema.Literal(2),
  executors: nonEmpty(TaskExecutor, "FLARE requires at least one executor"),
  ...configFile.sharedFields,
  default_task_fetch_interval: opt(PositiveNumber)
})

/**
 * The file's schema: JSON object ⇄ typed config, with non-structural top-level keys held in `variables`.
 *
 * @since 0.1.0
 */
export const ClientConfig = configFile.withVariables(fields, "ClientConfig")

/**
 * @since 0.1.0
 */
export type ClientConfig = typeof ClientConfig.Type

const file = configFile.define(ClientConfig, {
  name: "config_fed_client.json",
  // Components the catalog builders made are checked already: only how they are put together is left to check.
  assembled: {
    executors: Schema.NonEmptyArray(
      Schema.Struct({ tasks: TaskExecutor.fields.tasks, executor: checkedWith(Component) }).annotations({
        parseOptions: { onExcessProperty: "error" }
      })
    )
  }
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
export type Input = configFile.Input<ClientConfig>

/**
 * Builds a client config from built components, checking it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ClientConfig, Executors } from "@fedkit/flare-config"
 *
 * const client = Effect.gen(function*() {
 *   const trainer = yield* Executors.clientApi({ execution_mode: "external_process", command: ["python3", "custom/train.py"] })
 *   return yield* ClientConfig.make({ executors: [Executors.assign(["*"], trainer)] })
 * })
 * ```
 *
 * @since 0.1.0
 */
export const make: (input: Input) => Either.Either<ClientConfig, DecodeError> = file.make

/**
 * Checks a config value built in code.
 *
 * @since 0.1.0
 */
export const validate: (config: ClientConfig) => Either.Either<ClientConfig, DecodeError> = file.validate

/**
 * Decodes parsed `config_fed_client.json` content; issues name `file` (default `config_fed_client.json`).
 *
 * @since 0.1.0
 */
export const decode: (input: unknown, file?: string) => Either.Either<ClientConfig, DecodeError> = file.decode

/**
 * Decodes `config_fed_client.json` text.
 *
 * @since 0.1.0
 */
export const fromJson: (text: string, file?: string) => Either.Either<ClientConfig, DecodeError> = file.fromJson

/**
 * The JSON form.
 *
 * @since 0.1.0
 */
export const encode: (config: ClientConfig) => CanonicalJson.JsonObject = file.encode

/**
 * Canonical text. Prefer `Job.toFiles`, which also checks the whole job and applies the target.
 *
 * @since 0.1.0
 */
export const toJson: (config: ClientConfig) => string = file.toJson
