/**
 * A local deployment's FLARE configuration. The project file (`project.yml`, API version 3): one server, one client
 * per site, one project admin, on one free loopback port. The server is named `localhost`, which makes FLARE bind its
 * listener to 127.0.0.1 only (it binds 0.0.0.0 otherwise), and the sites are named as the request's sites. And the
 * provisioned server's stores, moved into the deployment's own folder (see {@link withPrivateStores}).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as path from "node:path"
import * as fs from "./files.js"

export const SERVER = "localhost"
export const ADMIN = "admin@fedkit.local"

export const yaml = (project: {
  readonly name: string
  readonly description: string
  readonly sites: ReadonlyArray<string>
  readonly port: number
}): string =>
  [
    "api_version: 3",
    `name: ${project.name}`,
    `description: ${project.description}`,
    "participants:",
    `  - name: ${SERVER}`,
    "    type: server",
    "    org: fedkit",
    `    fed_learn_port: ${project.port}`,
    `    admin_port: ${project.port}`,
    ...project.sites.flatMap((site) => [`  - name: ${site}`, "    type: client", "    org: fedkit"]),
    `  - name: ${ADMIN}`,
    "    type: admin",
    "    org: fedkit",
    "    role: project_admin",
    "builders:",
    "  - path: nvflare.lighter.impl.workspace.WorkspaceBuilder",
    "    args:",
    "      template_file:",
    "        - master_template.yml",
    "  - path: nvflare.lighter.impl.static_file.StaticFileBuilder",
    "    args:",
    "      config_folder: config",
    "  - path: nvflare.lighter.impl.cert.CertBuilder",
    "  - path: nvflare.lighter.impl.signature.SignatureBuilder",
    ""
  ].join("\n")

/**
 * A server's `local/resources.json`, made from FLARE's `resources.json.default` with the server's stores inside
 * `stores`: its job store (`job_manager`), its snapshots (`snapshot_persistor`) and the staging folder of the sites'
 * streamed logs (`log_receiver`). FLARE's template puts the first two under `/tmp/nvflare` and the third in the system
 * temporary folder, shared by every server on the machine; and a server schedules every submitted job it finds in its
 * job store. Two deployments on one machine would then run each other's jobs (one ends `FINISHED:FAILED_TO_RUN`, or
 * runs on the other's sites) and leave jobs, site logs and workspaces behind in `/tmp`. Undefined when the file does
 * not have the shape this expects (a FLARE whose template changed).
 */
export const withPrivateStores = (resourcesDefault: string, stores: string): string | undefined => {
  type Component = { id?: unknown; args?: Record<string, unknown> }
  let resources: {
    components?: Array<Component>
    snapshot_persistor?: { args?: { storage?: { args?: Record<string, unknown> } } }
  }
  try {
    resources = JSON.parse(resourcesDefault)
  } catch {
    return undefined
  }
  const component = (id: string) => resources.components?.find((candidate) => candidate.id === id)
  const jobManager = component("job_manager")
  const logReceiver = component("log_receiver")
  const snapshots = resources.snapshot_persistor?.args?.storage?.args
  if (jobManager?.args === undefined || logReceiver === undefined || snapshots === undefined) return undefined
  jobManager.args["uri_root"] = `${stores}/jobs`
  snapshots["root_dir"] = `${stores}/snapshots`
  logReceiver.args = { ...logReceiver.args, dest_dir: `${stores}/live-logs` }
  return `${JSON.stringify(resources, null, 2)}\n`
}

/** Gives the provisioned server in `serverFolder` private stores under `stores` (see {@link withPrivateStores}). */
export const isolateServer = (
  serverFolder: string,
  stores: string
): Effect.Effect<void, fs.FileError | UnexpectedResources> =>
  Effect.gen(function*() {
    const local = path.join(serverFolder, "local")
    const text = yield* fs.readFileString(path.join(local, "resources.json.default"))
    const isolated = withPrivateStores(text, stores)
    if (isolated === undefined) {
      return yield* new UnexpectedResources({
        file: path.join(local, "resources.json.default"),
        reason: "it has no job_manager, log_receiver or snapshot_persistor to move"
      })
    }
    yield* fs.makeDirectory(stores, { recursive: true })
    yield* fs.writeFileString(path.join(local, "resources.json"), isolated)
  })

/** A provisioned server's resources are not what this FLARE release writes (see {@link withPrivateStores}). */
export class UnexpectedResources extends Schema.TaggedError<UnexpectedResources>()("UnexpectedResources", {
  file: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.reason}`
  }
}
