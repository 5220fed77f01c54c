// The Node adapters behind `NodePlatform`, inlined into dist at build time (tooling/build/bundle.mjs --vendor): they
// depend only on the `effect` and `@effect/platform` peers, while depending on `@effect/platform-node` would install
// its cluster, RPC, SQL and workflow packages and native install scripts for every consumer.
export * as NodeCommandExecutor from "@effect/platform-node-shared/NodeCommandExecutor"
export * as NodeFileSystem from "@effect/platform-node-shared/NodeFileSystem"
export * as NodePath from "@effect/platform-node-shared/NodePath"
export * as NodeRuntime from "@effect/platform-node-shared/NodeRuntime"
