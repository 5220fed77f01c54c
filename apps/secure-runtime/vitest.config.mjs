import { defineConfig, mergeConfig } from "vitest/config"
import shared from "../../tooling/vitest/vitest.shared.mjs"

// No tests yet: this package is not implemented (see its README).
export default mergeConfig(shared, defineConfig({ test: { passWithNoTests: true } }))
