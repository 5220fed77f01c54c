import { defineConfig, mergeConfig } from "vitest/config"
import shared from "../../tooling/vitest/vitest.shared.mjs"

// the CLI is compiled once for every test file that spawns it
export default mergeConfig(shared, defineConfig({ test: { globalSetup: ["./test/support/buildCli.ts"] } }))
