export * as FlareToolchain from "./FlareToolchain.js"
export * as Simulator from "./Simulator.js"
export * as SmokeJob from "./SmokeJob.js"
