#!/usr/bin/env node
import * as NodeContext from "@effect/platform-node/NodeContext"
import { CliMain } from "@fedkit/cli-policy"
import * as Cli from "./Cli.js"

CliMain.runMain(Cli.command, Cli.program, NodeContext.layer)
