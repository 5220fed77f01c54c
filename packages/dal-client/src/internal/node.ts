// The Node adapters this package uses, inlined into dist at build time (tooling/build/bundle.mjs --vendor): they
// depend only on the `effect` and `@effect/platform` peers, while depending on `@effect/platform-node` would install
// its cluster, RPC, SQL and workflow packages and native install scripts for every consumer.
export * as NodeFileSystem from "@effect/platform-node-shared/NodeFileSystem"
export * as NodeStream from "@effect/platform-node-shared/NodeStream"
