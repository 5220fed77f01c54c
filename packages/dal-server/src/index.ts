/**
 * @fedkit/dal-server: a local Data Access Layer (DAL) over a folder, for development, tests and demos.
 */
export * as DalServer from "./DalServer.js"
export * as DalServerError from "./DalServerError.js"
export * as FaultFile from "./FaultFile.js"
export * as PolicyFile from "./PolicyFile.js"
export * as TokenFile from "./TokenFile.js"
