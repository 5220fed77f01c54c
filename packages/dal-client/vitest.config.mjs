import { defineConfig, mergeConfig } from "vitest/config"
import shared from "../../tooling/vitest/vitest.shared.mjs"

export default mergeConfig(shared, defineConfig({ test: { globalSetup: ["./test/support/globalSetup.ts"] } }))
