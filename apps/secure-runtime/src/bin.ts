#!/usr/bin/env node
import * as NodeContext from "@effect/platform-node/NodeContext"
import { CliMain } from "@fedkit/cli-policy"
import * as Layer from "effect/Layer"
import * as Cli from "./Cli.js"
import * as JsonLog from "./JsonLog.js"

CliMain.runMain(Cli.command, Cli.program, Layer.merge(NodeContext.layer, JsonLog.layer))
