#!/usr/bin/env node
// The `fedkit-job` command as installed: this file exists before the first build (so a fresh install links it without
// a warning, and it works right after `pnpm build`); the command itself is built into dist/bin.bundle.cjs, which
// dist/bin.cjs runs. CommonJS all the way: a command that never sets up Node's ES module loader starts ~20 ms sooner.
require("../dist/bin.cjs")
