/** Test layers: the project's FLARE environment (tooling/flare) as this package's `FlareInstallation`. */
import { NodeContext } from "@effect/platform-node"
import { FlareToolchain } from "@fedkit/flare-toolchain"
import { Effect, Layer, Option } from "effect"
import { dirname } from "node:path"
import { FlareInstallation } from "../src/index.js"

export const Installation = Layer.effect(
  FlareInstallation.FlareInstallation,
  Effect.map(FlareToolchain.FlareToolchain, (toolchain) => ({
    python: toolchain.python,
    nvflare: toolchain.nvflare,
    binDir: dirname(toolchain.nvflare),
    venvDir: Option.some(toolchain.venvDir)
  }))
).pipe(Layer.provide(FlareToolchain.layer), Layer.provideMerge(NodeContext.layer))
