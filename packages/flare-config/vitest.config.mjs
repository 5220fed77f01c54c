import { defineConfig, mergeConfig } from "vitest/config"
import shared from "../../tooling/vitest/vitest.shared.mjs"

// The simulator runs mostly wait on FLARE's polling, so two test files at a time halve the wall time even on 2 cores.
export default mergeConfig(shared, defineConfig({ test: { maxWorkers: 2, minWorkers: 1 } }))
