/**
 * A real DAL for tests: the split's shards written by DalFixture into a temporary folder and served by
 * @fedkit/dal-server on 127.0.0.1 (port 0), with one bearer token and asset policies.
 */
import { FileSystem } from "@effect/platform"
import { DalClient, DalSettings } from "@fedkit/dal-client"
import { DalServer } from "@fedkit/dal-server"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as BreastCancer from "../../src/BreastCancer.js"
import * as DalFixture from "../../src/DalFixture.js"
import * as Split from "../../src/Split.js"

/** Each gateway's own bearer token, recognizable so a test can prove it appears nowhere. */
export const tokenText = (gateway: DalFixture.Gateway): string => `tok-${gateway.gateway}-3f9a7c-never-log-me`
export const token = (gateway: DalFixture.Gateway): Redacted.Redacted<string> => Redacted.make(tokenText(gateway))
export const SECRET_MARK = "3f9a7c-never-log-me"

export interface Options {
  readonly allowed?: (gateway: DalFixture.Gateway) => boolean
  /** Extra files to put below the DAL root before it is served: relative path → content. */
  readonly extraFiles?: Readonly<Record<string, string>>
}

export const start = (options: Options = {}) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const split = Either.getOrThrow(Split.split(yield* BreastCancer.load))
    const root = yield* fs.makeTempDirectoryScoped({ prefix: "fedkit-dal-root-" })
    const gateways = yield* DalFixture.write(root, split.shards)
    for (const [relative, content] of Object.entries(options.extraFiles ?? {})) {
      yield* fs.writeFileString(`${root}/${relative}`, content)
    }
    const server = yield* DalServer.start({
      root,
      // Each gateway may read its own dataset only, as on a real Compute Gateway.
      tokens: gateways.map((g) => ({ name: g.gateway, token: token(g), prefixes: [DalFixture.prefix(g)] })),
      policies: DalFixture.policies(gateways, options.allowed)
    })
    return { server, gateways, split, root }
  }).pipe(
    // The server's per-request log lines would drown the test output; its handlers inherit this level.
    Logger.withMinimumLogLevel(LogLevel.Warning)
  )

/** The `APH_*` environment of one gateway. */
export const env = (url: string, gateway: DalFixture.Gateway): Record<string, string> => ({
  APH_API_DAL_URL: url,
  APH_DAL_TOKEN: tokenText(gateway),
  APH_DATA: DalFixture.aphData(gateway),
  APH_RETRIES: "0"
})

/** A DAL client for one gateway, as the trainer builds it from `APH_*`. */
export const client = (url: string, gateway: DalFixture.Gateway, bearer = token(gateway)) =>
  DalClient.layerWithoutSettings.pipe(
    Layer.provide(
      DalSettings.layerFromValues({ url, token: bearer, data: { [gateway.datasetId]: gateway.key }, retries: 0 })
    )
  )
