/**
 * What a Node program needs to pack, write and run jobs with this package, without installing
 * `@effect/platform-node`: the file system, paths and child processes (`layer`), and `runMain`, which interrupts the
 * program on SIGINT/SIGTERM so a run stops every FLARE process it started. Programs that already use
 * `@effect/platform-node` can provide its `NodeContext.layer` instead.
 *
 * @since 0.1.0
 */
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type { RunMain } from "@effect/platform/Runtime"
import { Layer } from "effect"
import { NodeCommandExecutor, NodeFileSystem, NodePath, NodeRuntime } from "./internal/node.js"

/**
 * The Node file system, path and command executor services.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<CommandExecutor.CommandExecutor | FileSystem.FileSystem | Path.Path> = Layer
  .provideMerge(NodeCommandExecutor.layer, Layer.merge(NodeFileSystem.layer, NodePath.layer))

/**
 * Runs a program as the main fiber of the process: interrupted on SIGINT/SIGTERM, exit code 1 on failure.
 *
 * @since 0.1.0
 * @category running
 */
export const runMain: RunMain = NodeRuntime.runMain
