/**
 * @fedkit/dal-client: a typed, streaming, resumable client for the Data Access Layer (DAL) of a federated-learning
 * Compute Gateway, and the `fedkit-dal` CLI.
 */
export * as AssetPolicy from "./AssetPolicy.js"
export * as DalClient from "./DalClient.js"
export * as DalError from "./DalError.js"
export * as DalKey from "./DalKey.js"
export * as DalSettings from "./DalSettings.js"
export * as DalTransport from "./DalTransport.js"
export * as Progress from "./Progress.js"
export * as ZipExtract from "./ZipExtract.js"
