declare module "vitest" {
  export interface ProvidedContext {
    /** A folder with the trainer bundle and the bridge, built from the current sources by globalSetup.mjs. */
    readonly customDir: string
  }
}
export {}
