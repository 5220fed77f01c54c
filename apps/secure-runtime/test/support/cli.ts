import { spawn } from "node:child_process"
import { join } from "node:path"
import { inject } from "vitest"

declare module "vitest" {
  export interface ProvidedContext {
    compiledDir: string
  }
}

/** The bin compiled from the current sources (see globalSetup.mjs). */
export const binPath = (): string => join(inject("compiledDir"), "dist", "bin.js")

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `secure-runtime ...args` as a separate process. */
export const runCli = (
  args: ReadonlyArray<string>,
  options: { readonly input?: string | Buffer; readonly cwd?: string; readonly bin?: string } = {}
): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.bin ?? binPath(), ...args], {
      cwd: options.cwd ?? process.cwd(),
      stdio: ["pipe", "pipe", "pipe"]
    })
    const stdout: Array<Buffer> = []
    const stderr: Array<Buffer> = []
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk))
    child.on("error", reject)
    child.on("close", (code) =>
      resolve({ code, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") }))
    child.stdin.on("error", () => {})
    child.stdin.end(options.input ?? "")
  })
