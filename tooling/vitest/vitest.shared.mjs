// Shared Vitest settings for every fedkit package: each package's vitest.config.mjs merges these.
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: [fileURLToPath(new URL("./vitest.setup.mjs", import.meta.url))],
    // Integration tests start real servers and real FLARE processes: give them room, never retry silently.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The JSON report feeds the one-line summary printed by scripts/test.mjs.
    reporters: ["default", ["json", { outputFile: ".vitest/report.json" }]]
  }
})
