// The Secure Runtime image, checked from inside (run by `pnpm images`, after the build): the image's own entrypoint
// and command (`serve`, on loopback and a free port instead of 0.0.0.0:8080) runs as uid 3333 on a read-only root
// with /workspace writable, renders the contract's payload to a job (201, the job on disk under /workspace/jobs), and
// refuses every invalid payload of runtime-core's hostile corpus with 422 while it keeps answering.
import { HostileCorpus } from "@fedkit/runtime-core/testing"
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { exec, openContainer, processIdentity } from "../../../scripts/images/container.mjs"
import { checkRun } from "../../../scripts/images/lib.mjs"

const DATASET2GW = {
  "breast-cancer-wisconsin_gateway-1_org-1": "gateway-1",
  "breast-cancer-wisconsin_gateway-2_org-2": "gateway-2"
}

const firstLine = (stream) =>
  new Promise((resolve, reject) => {
    let text = ""
    const onData = (chunk) => {
      text += chunk
      const end = text.indexOf("\n")
      if (end >= 0) {
        stream.off("data", onData)
        resolve(text.slice(0, end).trim())
      }
    }
    stream.on("data", onData)
    stream.on("end", () => reject(new Error(`serve ended before printing its URL; stdout: ${text.slice(0, 200)}`)))
  })

const withArg = (argv, name, value) => {
  const at = argv.indexOf(name)
  if (at < 0) throw new Error(`the image's command has no ${name}: ${argv.join(" ")}`)
  return [...argv.slice(0, at + 1), value, ...argv.slice(at + 2)]
}

const post = (url, body) =>
  fetch(`${url}/v1/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body })

/** Runs the checks; returns one line per check passed, throws on the first failure. */
export const checkSecureRuntimeImage = async ({ image, workdir }) => {
  const { check, ok, passed } = checkRun(image)
  const etc = join(workdir, "etc")
  mkdirSync(etc, { recursive: true })
  writeFileSync(join(etc, "dataset2gw.json"), JSON.stringify(DATASET2GW))
  const container = openContainer(image, join(workdir, "workspace"))
  let server
  let stderr = ""
  try {
    const imageCommand = [...container.config.Entrypoint, ...container.config.Cmd]
    const command = withArg(withArg(imageCommand, "--host", "127.0.0.1"), "--port", "0")
    server = container.spawn(command, { files: { "/etc/secure_runtime": etc } })
    server.stderr.on("data", (chunk) => (stderr += chunk))
    const url = await firstLine(server.stdout)
    check(/^http:\/\/127\.0\.0\.1:\d+$/.test(url), `serve printed ${JSON.stringify(url)}, not its URL`)
    ok(`serve (the image's own command) listens: ${url}`)

    const identity = processIdentity(server)
    check(identity.uid.every((id) => id === 3333) && identity.gid.every((id) => id === 3333), `runs as ${identity.uid}`)
    ok(
      `the server process (${identity.exe.slice(container.rootfs.length)}) runs as uid ${identity.uid[0]}, gid ${
        identity.gid[0]
      }`
    )

    check((await fetch(`${url}/healthz`)).status === 200, "GET /healthz did not answer 200")
    const created = await post(url, JSON.stringify(HostileCorpus.contractSample))
    const job = await created.json()
    check(created.status === 201, `the contract payload got ${created.status}: ${JSON.stringify(job)}`)
    const jobDir = join(container.workspace, "jobs", job.jobId)
    check(existsSync(join(jobDir, "meta.json")) && existsSync(`${jobDir}.manifest.json`), `no job under ${jobDir}`)
    check(statSync(jobDir).uid === 3333, "the job folder is not owned by 3333")
    ok(
      `the contract payload renders: 201, job ${job.jobId} (${job.files.length} files) in /workspace/jobs, owned by 3333`
    )

    const invalid = HostileCorpus.make().filter((entry) => entry.expect === "InvalidPayload")
    for (const entry of invalid) {
      const answer = await post(url, entry.body)
      check(answer.status === 422, `hostile payload ${entry.id} got ${answer.status}, expected 422`)
    }
    check((await fetch(`${url}/healthz`)).status === 200, "the server stopped answering after the hostile payloads")
    ok(`${invalid.length} invalid payloads of the hostile corpus refused with 422; the server still answers`)
    check(readdirSync(join(container.workspace, "jobs")).length === 2, "a refused payload left something in jobs/")

    const writes = await exec(container, [
      "node",
      "-e",
      "const fs=require('fs');for(const p of ['/opt/secure-runtime/x','/usr/secure_runtime/x','/etc/x','/tmp/x'])" +
      "{try{fs.writeFileSync(p,'');console.log('WROTE '+p)}catch(e){console.log(e.code+' '+p)}}" +
      "fs.writeFileSync('/workspace/probe','');console.log('OK /workspace')"
    ])
    check(writes.code === 0 && !writes.stdout.includes("WROTE"), `a write outside /workspace worked: ${writes.stdout}`)
    ok(`as 3333 only /workspace is writable (${writes.stdout.trim().split("\n").join(", ")})`)

    const stopping = new Promise((resolve) => server.on("close", resolve))
    process.kill(identity.pid, "SIGTERM")
    const code = await stopping
    check(code === 130, `serve exited ${code} on SIGTERM`)
    ok("serve stops on SIGTERM with exit code 130 (interrupted, after draining)")
    return passed
  } catch (error) {
    if (stderr !== "") {
      process.stderr.write(`[images] serve's log (last lines):\n${stderr.split("\n").slice(-10).join("\n")}\n`)
    }
    throw error
  } finally {
    if (server !== undefined && server.exitCode === null) server.kill("SIGKILL")
    container.close()
  }
}
