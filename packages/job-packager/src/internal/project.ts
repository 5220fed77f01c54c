/**
 * The FLARE project file (`project.yml`, API version 3) of a local deployment: one server, one client per site, one
 * project admin, on one free loopback port. The server is named `localhost`, which makes FLARE bind its listener to
 * 127.0.0.1 only (it binds 0.0.0.0 otherwise), and the sites are named as the request's sites.
 */
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
