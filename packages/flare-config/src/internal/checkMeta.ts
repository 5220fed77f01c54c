// The job-level rules: meta.json as FLARE's JobMetaValidator (nvflare/private/fed/server/job_meta_validator.py)
// checks it at submission, and the apps deploy_map names.
import type { JsonObject, JsonValue } from "../CanonicalJson.js"
import type { FlareJob } from "../Job.js"
import * as JobMeta from "../JobMeta.js"
import { isObject, issueAt, type Issues } from "./issues.js"
import type { Key } from "./locate.js"
import { filePath } from "./paths.js"

const META = JobMeta.FILE
const MODE_KEYS = ["process", "docker", "k8s", "slurm"]
const PORTABLE_KEYS = ["num_of_gpus", "num_of_cpus", "memory"]
const PORTABLE_NATIVE: ReadonlyArray<readonly [string, ReadonlyArray<readonly [string, ReadonlyArray<string>]>]> = [
  ["docker", [["num_of_gpus", ["device_requests", "num_of_gpus"]], ["num_of_cpus", ["nano_cpus"]], [
    "memory",
    ["mem_limit"]
  ]]],
  ["k8s", [["num_of_gpus", ["num_of_gpus"]], ["num_of_cpus", ["cpu", "cpu_request"]], [
    "memory",
    ["memory", "memory_request"]
  ]]],
  ["slurm", [["num_of_cpus", ["cpus_per_node"]], ["memory", ["mem_per_node"]]]]
]

const objectOr = (value: JsonValue | undefined): JsonObject => (isObject(value) ? value : {})
const isInt = (value: JsonValue | undefined): value is number => typeof value === "number" && Number.isInteger(value)
const hasModeKeys = (spec: JsonObject) => MODE_KEYS.some((key) => key in spec)
const siteLauncherSpec = (spec: JsonObject | undefined, mode: string): JsonObject => {
  const site = spec ?? {}
  if (hasModeKeys(site)) return objectOr(site[mode])
  return mode === "process" ? site : {}
}

const DOCKER_SHM_SIZE = /^[0-9]+(?:\.[0-9]+)?(?:[bB]|[kKmMgG](?:[bB])?)?$/
const DOCKER_OPTIONS: ReadonlyArray<readonly [string, (value: JsonValue | undefined) => boolean, string]> = [
  ["image", (value) => value === null || typeof value === "string", "must be a string or null"],
  ["python_path", (value) => typeof value === "string" && value.trim() !== "", "must be a non-empty string"],
  [
    "entrypoint",
    (value) =>
      typeof value === "string"
        ? value.trim() !== ""
        : Array.isArray(value) && value.length > 0 &&
          value.every((arg) => typeof arg === "string" && arg.trim() !== ""),
    "must be a non-empty string or a non-empty list of non-empty strings"
  ],
  ["num_of_gpus", (value) => isInt(value) && value >= 0, "must be an integer greater than or equal to 0"],
  [
    "shm_size",
    (value) => (isInt(value) && value >= 0) || (typeof value === "string" && DOCKER_SHM_SIZE.test(value)),
    "must be a non-negative integer or decimal byte-size string"
  ]
]

const checkDocker = (spec: JsonValue | undefined, path: ReadonlyArray<Key>, issues: Issues) => {
  if (!isObject(spec)) {
    issues.push(issueAt(META, path, "must be an object"))
    return
  }
  for (const [key, value] of Object.entries(spec)) {
    const option = DOCKER_OPTIONS.find(([name]) => name === key)
    if (option === undefined) {
      issues.push(
        issueAt(
          META,
          [...path, key],
          `is not a Docker option a job may set (allowed: ${DOCKER_OPTIONS.map(([name]) => name).join(", ")})`
        )
      )
    } else if (!option[1](value)) {
      issues.push(issueAt(META, [...path, key], option[2]))
    }
  }
}

const checkPortableValues = (spec: JsonObject, path: ReadonlyArray<Key>, issues: Issues) => {
  if ("num_of_gpus" in spec && !(isInt(spec["num_of_gpus"]) && spec["num_of_gpus"] >= 0)) {
    issues.push(issueAt(META, [...path, "num_of_gpus"], "must be an integer greater than or equal to 0"))
  }
  if ("num_of_cpus" in spec && !(isInt(spec["num_of_cpus"]) && spec["num_of_cpus"] >= 1)) {
    issues.push(issueAt(META, [...path, "num_of_cpus"], "must be an integer greater than or equal to 1"))
  }
  const memory = spec["memory"]
  if ("memory" in spec && !(typeof memory === "string" && /^[1-9][0-9]*(?:Mi|Gi|Ti)$/.test(memory))) {
    issues.push(issueAt(META, [...path, "memory"], "must be a positive integer followed by Mi, Gi or Ti"))
  }
}

const checkResources = (meta: JobMeta.JobMeta, issues: Issues) => {
  const resources = meta.resource_spec ?? {}
  const launchers = meta.launcher_spec ?? {}
  for (const [site, spec] of Object.entries(resources)) {
    if ("docker" in spec) checkDocker(spec["docker"], ["resource_spec", site, "docker"], issues)
  }
  const defaults = resources["@default"]
  if (defaults !== undefined) {
    for (const key of Object.keys(defaults)) {
      if (!PORTABLE_KEYS.includes(key)) {
        issues.push(
          issueAt(META, ["resource_spec", "@default", key], `is not a portable resource (${PORTABLE_KEYS.join(", ")})`)
        )
      }
    }
    checkPortableValues(defaults, ["resource_spec", "@default"], issues)
  }
  for (const [site, spec] of Object.entries(resources)) {
    if (site === "@default") continue
    if (defaults === undefined && hasModeKeys(spec)) continue
    const effective = defaults === undefined ? spec : siteLauncherSpec(spec, "process")
    checkPortableValues(effective, ["resource_spec", site, ...(effective === spec ? [] : ["process"])], issues)
  }
  for (const [site, modes] of Object.entries(launchers)) {
    if (modes["docker"] !== undefined) checkDocker(modes["docker"], ["launcher_spec", site, "docker"], issues)
  }
  checkResourceConflicts(resources, launchers, issues)
}

// A legacy `process` GPU count (resource_spec by mode) must agree with what each launcher reserves natively.
const checkLegacyGpus = (
  site: string,
  reserved: JsonValue | undefined,
  launcherSpec: (site: string, mode: string) => JsonObject,
  issues: Issues
) => {
  const docker = launcherSpec(site, "docker")
  if ("device_requests" in docker) {
    issues.push(
      issueAt(
        META,
        ["resource_spec", site],
        "legacy process num_of_gpus conflicts with launcher_spec docker device_requests"
      )
    )
  }
  for (const mode of ["docker", "k8s"]) {
    const native = launcherSpec(site, mode)
    if ("num_of_gpus" in native && native["num_of_gpus"] !== reserved) {
      issues.push(
        issueAt(
          META,
          ["resource_spec", site],
          `legacy process num_of_gpus must match launcher_spec ${mode} num_of_gpus`
        )
      )
    }
  }
  const slurm = launcherSpec(site, "slurm")
  const nodes = slurm["nodes"] ?? 1
  const perNode = slurm["gpus_per_node"]
  if (isInt(reserved) && isInt(nodes) && isInt(perNode) && nodes * perNode !== reserved) {
    issues.push(
      issueAt(META, ["resource_spec", site], "legacy process num_of_gpus must match launcher_spec slurm total GPUs")
    )
  }
}

// validate_portable_resource_conflicts (nvflare/utils/job_launcher_utils.py)
const checkResourceConflicts = (
  resources: Readonly<Record<string, JsonObject>>,
  launchers: Readonly<Record<string, Readonly<Record<string, JsonObject>>>>,
  issues: Issues
) => {
  const launcherSpec = (site: string, mode: string): JsonObject => {
    const defaults = objectOr(launchers["default"]?.[mode])
    const own = launchers[site]?.[mode]
    if (Object.keys(defaults).length > 0 || own !== undefined) return { ...defaults, ...objectOr(own) }
    return siteLauncherSpec(resources[site], mode)
  }
  const portableOf = (site: string): JsonObject => {
    const spec = resources[site] ?? {}
    const resolved = "@default" in resources
      ? { ...objectOr(resources["@default"]), ...siteLauncherSpec(resources[site], "process") }
      : hasModeKeys(spec)
      ? {}
      : spec
    return Object.fromEntries(PORTABLE_KEYS.filter((key) => key in resolved).map((key) => [key, resolved[key] ?? null]))
  }
  const sites = new Set([
    ...Object.keys(resources).filter((site) => site !== "@default"),
    ...Object.keys(launchers).filter((site) => site !== "default")
  ])
  for (const site of sites) {
    const spec = resources[site] ?? {}
    const processSpec = siteLauncherSpec(spec, "process")
    const legacyGpus = hasModeKeys(spec) && "num_of_gpus" in processSpec
    if (legacyGpus) checkLegacyGpus(site, processSpec["num_of_gpus"], launcherSpec, issues)
    const portable = portableOf(site)
    for (const [mode, pairs] of PORTABLE_NATIVE) {
      const native = launcherSpec(site, mode)
      for (const [key, nativeKeys] of pairs) {
        if (!(key in portable)) continue
        const conflicts = nativeKeys.filter((nativeKey) => nativeKey in native)
        if (key === "num_of_gpus" && conflicts.length === 1 && conflicts[0] === "num_of_gpus" && legacyGpus) continue
        if (conflicts.length > 0) {
          issues.push(
            issueAt(
              META,
              ["resource_spec", site],
              `portable resource '${key}' conflicts with launcher_spec ${mode} ${conflicts.join(", ")}`
            )
          )
        }
      }
    }
  }
  const defaultPortable = objectOr(resources["@default"])
  for (const [mode, pairs] of PORTABLE_NATIVE) {
    const native = objectOr(launchers["default"]?.[mode])
    for (const [key, nativeKeys] of pairs) {
      if (key in defaultPortable && nativeKeys.some((nativeKey) => nativeKey in native)) {
        issues.push(issueAt(META, ["resource_spec", "@default", key], `conflicts with launcher_spec default ${mode}`))
      }
    }
  }
}

export const checkMeta = (job: FlareJob, issues: Issues) => {
  const meta = job.meta
  const apps = Object.entries(meta.deploy_map)
  if (apps.length === 0) issues.push(issueAt(META, ["deploy_map"], "names no app; FLARE rejects an empty deploy_map"))
  const seen = new Map<string, string>()
  for (const [app, sites] of apps) {
    if (sites.length === 0) {
      issues.push(issueAt(META, ["deploy_map", app], `app '${app}' is deployed to no site; deploy it or remove it`))
    }
    for (const site of sites) {
      const other = seen.get(site)
      if (other !== undefined && site.toLowerCase() !== JobMeta.ALL_SITES.toLowerCase()) {
        issues.push(
          issueAt(
            META,
            ["deploy_map", app],
            other === app
              ? `lists site '${site}' twice`
              : `site '${site}' is in apps '${other}' and '${app}'; FLARE deploys one app per site`
          )
        )
      }
      seen.set(site, app)
    }
  }
  const everySite = JobMeta.sites(meta)
  const toAll = JobMeta.deploysToAll(meta)
  if (toAll && everySite.length > 1) {
    issues.push(
      issueAt(
        META,
        ["deploy_map"],
        `"${JobMeta.ALL_SITES}" must be the only site in deploy_map (it already means the server and every client)`
      )
    )
  } else if (!toAll && apps.length > 0 && !everySite.includes(JobMeta.SERVER)) {
    issues.push(
      issueAt(
        META,
        ["deploy_map"],
        `the server is not deployed: one app must list "${JobMeta.SERVER}" (or deploy one app to ["${JobMeta.ALL_SITES}"])`
      )
    )
  }
  const clients = JobMeta.clients(meta)
  if (!toAll && apps.length > 0 && clients.length === 0) {
    issues.push(issueAt(META, ["deploy_map"], "no client site is deployed"))
  }
  if (!toAll && meta.min_clients !== undefined && meta.min_clients > clients.length) {
    issues.push(
      issueAt(
        META,
        ["min_clients"],
        `${meta.min_clients} is more than the ${clients.length} client site(s) deploy_map names`
      )
    )
  }
  if (!toAll) {
    meta.mandatory_clients?.forEach((site, index) => {
      if (!clients.includes(site)) {
        issues.push(
          issueAt(META, ["mandatory_clients", index], `mandatory client '${site}' is not a client in deploy_map`)
        )
      }
    })
  }
  if (job.target === "2.9") checkResources(meta, issues)
}

// apps: every deployed app exists with the configs its sites need, every app is deployed

export const checkApps = (job: FlareJob, issues: Issues) => {
  for (const [app, sites] of Object.entries(job.meta.deploy_map)) {
    const toAll = sites.some((site) => site.toLowerCase() === JobMeta.ALL_SITES.toLowerCase())
    const content = job.apps[app]
    if (content === undefined) {
      issues.push(
        issueAt(META, ["deploy_map", app], `App '${app}' in deploy_map doesn't exist: the job has no such app`)
      )
      continue
    }
    if ((toAll || sites.includes(JobMeta.SERVER)) && content.server === undefined) {
      issues.push(issueAt(META, ["deploy_map", app], `app '${app}' is deployed to the server but has no server config`))
    }
    const toClients = toAll || sites.some((site) => site !== JobMeta.SERVER)
    if (toClients && content.client === undefined) {
      issues.push(issueAt(META, ["deploy_map", app], `app '${app}' is deployed to clients but has no client config`))
    }
    if (!toAll && !sites.includes(JobMeta.SERVER) && content.server !== undefined) {
      issues.push(issueAt(filePath.server(app), [], `never used: app '${app}' is not deployed to the server`))
    }
    if (!toClients && content.client !== undefined) {
      issues.push(issueAt(filePath.client(app), [], `never used: app '${app}' is not deployed to any client`))
    }
  }
  for (const app of Object.keys(job.apps)) {
    if (!(app in job.meta.deploy_map)) {
      issues.push(issueAt(META, ["deploy_map"], `app '${app}' is not in deploy_map: its files would belong to no site`))
    }
  }
}
