#!/usr/bin/env node
import { NodeContext } from "@effect/platform-node"
import { CliMain } from "@fedkit/cli-policy"
import * as Cli from "./Cli.js"

CliMain.runMain(Cli.command, Cli.program, NodeContext.layer)
