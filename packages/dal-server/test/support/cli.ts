import * as Effect from "effect/Effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const packageDir = fileURLToPath(new URL("../..", import.meta.url))
/** Where `buildCli.ts` (the global setup) compiles the bin. */
export const cliInstallDir = path.join(packageDir, "node_modules", ".cache", "dal-server-cli-test")
export const bin = path.join(cliInstallDir, "dist", "bin.js")

export interface Cli {
  readonly child: ChildProcess
  /** First stdout line. */
  readonly url: string
  readonly stdout: () => string
  readonly stderr: () => string
}

/** Spawns `fedkit-dal-server`; resolves once it printed its first stdout line. Killed when the scope closes. */
export const spawnCli = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.async<Cli, Error>((resume) => {
      const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] })
      let out = ""
      let err = ""
      child.stderr!.on("data", (chunk) => (err += chunk))
      child.stdout!.on("data", (chunk) => {
        out += chunk
        const newline = out.indexOf("\n")
        if (newline !== -1) {
          resume(Effect.succeed({ child, url: out.slice(0, newline), stdout: () => out, stderr: () => err }))
        }
      })
      child.on("exit", (code) => resume(Effect.fail(new Error(`exited with ${code} before printing: ${err}`))))
    }),
    (cli) => Effect.sync(() => cli.child.kill("SIGKILL"))
  )

/** Every request the CLI logged so far (its JSON lines on stderr with `"message": "request"`). */
export const loggedRequests = (cli: Cli): ReadonlyArray<Record<string, unknown>> =>
  cli.stderr().split("\n").filter((line) => line.startsWith("{")).map((line) =>
    JSON.parse(line) as Record<string, unknown>
  ).filter((line) => line.message === "request")
