#!/usr/bin/env node
// The `fedkit-dal-server` command as installed: this file exists before the first build (so a fresh install links it without
// a warning, and it works right after `pnpm build`); the command itself is built into dist/bin.js.
import "../dist/bin.js"
