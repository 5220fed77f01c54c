export * as FlareToolchain from "./FlareToolchain.js"
