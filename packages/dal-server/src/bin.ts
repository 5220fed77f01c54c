#!/usr/bin/env node
import * as NodeContext from "@effect/platform-node/NodeContext"
import { CliMain } from "@fedkit/cli-policy"
import { Layer } from "effect"
import * as Cli from "./Cli.js"

CliMain.runMain(Cli.command, Cli.program, Layer.merge(NodeContext.layer, Cli.jsonLogger))
