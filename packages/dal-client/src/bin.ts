#!/usr/bin/env -S node --max-semi-space-size=8 --initial-old-space-size=64
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import { CliMain } from "@fedkit/cli-policy"
import * as Layer from "effect/Layer"
import { command, program } from "./Cli.js"

// What @effect/cli needs, without the rest of NodeContext (child processes, workers).
CliMain.runMain(command, program, Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeTerminal.layer))
