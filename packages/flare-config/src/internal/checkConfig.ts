// The config-level rules: what FLARE checks when the job starts, and what it never checks (constructor args,
// references, target availability).
import * as Option from "effect/Option"
import type { JsonObject, JsonValue } from "../CanonicalJson.js"
import * as Catalog from "../Catalog.js"
import type { ClientConfig } from "../ClientConfig.js"
import { className, type Component } from "../Component.js"
import * as Executors from "../Executors.js"
import type { FilterChain } from "../Filters.js"
import type { FlareTarget } from "../FlareTarget.js"
import * as Issue from "../Issue.js"
import type { FlareJob } from "../Job.js"
import * as JobMeta from "../JobMeta.js"
import type { ServerConfig } from "../ServerConfig.js"
import * as Workflows from "../Workflows.js"
import { checkArgs, ENVIRONMENT_REFERENCE, resolveArgs, SYSTEM_VARIABLES, wholeReference } from "./args.js"
import { type Entry, isBuiltWithoutVariables, type Kind } from "./entry.js"
import { isObject, issueAt, type Issues } from "./issues.js"
import { effectiveId, type Key, locate, type Located, type Slot } from "./locate.js"

const SLOT_KIND: Readonly<Record<Slot, { readonly kind: Kind; readonly what: string } | undefined>> = {
  workflow: { kind: "controller", what: "workflows hold Controllers" },
  executor: { kind: "executor", what: "executors hold Executors" },
  filter: { kind: "filter", what: "filter chains hold Filters" },
  component: undefined
}

// FLARE rewrites strings before it builds components (nvflare/fuel/utils/wfconf.py _EnvUpdater). Two rewrites are
// never what a job author meant when the value came from a payload: `{$NAME}` pulls the site process's environment
// into the job, and a string that is exactly `{name}` for an unknown name silently becomes null.
const checkStrings = (
  file: string,
  path: ReadonlyArray<Key>,
  value: JsonValue,
  variables: JsonObject,
  issues: Issues
) => {
  if (typeof value === "string") {
    const environment = ENVIRONMENT_REFERENCE.exec(value)?.[0]
    if (environment !== undefined) {
      issues.push(
        issueAt(
          file,
          path,
          `FLARE would replace ${environment} with the site's environment variable; a job must not read the site environment`
        )
      )
      return
    }
    const name = wholeReference(value)
    if (name !== undefined && !name.startsWith("@") && !(name in variables) && !SYSTEM_VARIABLES.has(name)) {
      issues.push(
        issueAt(file, path, `FLARE would replace "${value}" with null: no config variable is named '${name}'`)
      )
    }
  } else if (Array.isArray(value)) {
    ;(value as ReadonlyArray<JsonValue>).forEach((item, index) =>
      checkStrings(file, [...path, index], item, variables, issues)
    )
  } else if (isObject(value)) {
    for (const [key, item] of Object.entries(value)) checkStrings(file, [...path, key], item, variables, issues)
  }
}

const describeEntry = (entry: Entry) => `${entry.name} (${entry.kind.replaceAll("_", " ")})`

const checkComponent = (
  file: string,
  target: FlareTarget,
  item: Located,
  variables: JsonObject,
  ids: ReadonlyMap<string, Component>,
  issues: Issues
) => {
  const { component, path, slot } = item
  // FLARE does not build a disabled component; references to it are caught where they are made.
  if (component.disabled === true) return
  // Builder-made args hold no `{`, which both rewrites need.
  if (!isBuiltWithoutVariables(component.args)) checkStrings(file, [...path, "args"], component.args, variables, issues)
  const known = Catalog.byPath(component.path)
  if (Option.isNone(known)) {
    if (target === "2.9" && Catalog.removedIn29.includes(component.path)) {
      issues.push(
        issueAt(
          file,
          [...path, "path"],
          `${className(component.path)} was removed in FLARE 2.9; target "2.8" or use ClientAPIExecutor`
        )
      )
    }
    return
  }
  const entry = known.value
  if (!entry.targets.includes(target)) {
    issues.push(
      issueAt(
        file,
        [...path, "path"],
        target === "2.9"
          ? `${entry.name} was removed in FLARE 2.9; target "2.8" or use ClientAPIExecutor`
          : `${entry.name} does not exist in FLARE ${target}`
      )
    )
  }
  const expected = SLOT_KIND[slot]
  if (expected !== undefined && expected.kind !== entry.kind) {
    issues.push(issueAt(file, [...path, "path"], `${describeEntry(entry)} cannot be used here: ${expected.what}`))
  }
  for (const issue of checkArgs(entry, component.args, variables)) {
    issues.push(issueAt(file, [...path, "args", ...(issue.path as ReadonlyArray<Key>)], issue.message))
  }
  if (target === "2.8") {
    for (const name of entry.since29) {
      if (name in component.args) {
        issues.push(issueAt(file, [...path, "args", name], `${entry.name}'s ${name} needs FLARE 2.9`))
      }
    }
  }
  checkReferences(file, item, entry, variables, ids, issues)
}

// Every reference names an enabled component of the right kind, FLARE's implicit defaults included.
const checkReferences = (
  file: string,
  item: Located,
  entry: Entry,
  variables: JsonObject,
  ids: ReadonlyMap<string, Component>,
  issues: Issues
) => {
  const { component, path } = item
  const { args, runtime } = resolveArgs(component.args, variables)
  for (const reference of entry.references) {
    if (runtime.has(reference.arg)) continue
    const given = args[reference.arg]
    const id = given === undefined ? reference.fallback : given
    if (typeof id !== "string" || id === "") continue
    const at = given === undefined ? [...path, "path"] : [...path, "args", reference.arg]
    const how = given === undefined ? ` (${reference.arg} defaults to "${id}"; set it to "" if none is wanted)` : ""
    const referenced = ids.get(id)
    if (referenced === undefined) {
      issues.push(
        issueAt(file, at, `${entry.name}'s ${reference.arg} names component '${id}', which does not exist${how}`)
      )
    } else if (referenced.disabled === true) {
      issues.push(issueAt(file, at, `${entry.name}'s ${reference.arg} names component '${id}', which is disabled`))
    } else if (reference.kind !== undefined) {
      const target = Catalog.byPath(referenced.path)
      if (Option.isSome(target) && target.value.kind !== reference.kind) {
        issues.push(
          issueAt(
            file,
            at,
            `${entry.name}'s ${reference.arg} names '${id}', a ${describeEntry(target.value)}, not a ${
              reference.kind.replaceAll("_", " ")
            }`
          )
        )
      }
    }
  }
}

const checkFilterTables = (file: string, config: ServerConfig | ClientConfig, server: boolean, issues: Issues) => {
  for (const list of ["task_data_filters", "task_result_filters"] as const) {
    const fallback = (list === "task_data_filters") === server ? "out" : "in"
    const table = new Map<string, number>()
    config[list].forEach((chain: FilterChain, index) => {
      const direction = chain.direction ?? fallback
      const directions = direction === "inout" ? ["in", "out"] : [direction]
      for (const task of chain.tasks) {
        for (const way of directions) {
          const key = `${task}@${way}`
          const earlier = table.get(key)
          if (earlier !== undefined) {
            issues.push(
              issueAt(
                file,
                [list, index, "tasks"],
                `task '${task}' (${way}) already has a filter chain at ${list}[${earlier}]`
              )
            )
          }
          table.set(key, index)
        }
      }
    })
  }
}

export const checkConfig = (
  file: string,
  job: FlareJob,
  config: ServerConfig | ClientConfig,
  issues: Issues
) => {
  const located = locate(config)
  const ids = new Map<string, Component>()
  const idPaths = new Map<string, ReadonlyArray<Key>>()
  for (const item of located) {
    if (item.slot !== "workflow" && item.slot !== "component") continue
    const id = effectiveId(item)
    if (id === undefined) continue
    const earlier = idPaths.get(id)
    if (earlier !== undefined) {
      issues.push(
        issueAt(file, [...item.path, "id"], `duplicate component id '${id}' (also at ${Issue.jsonPath(earlier)})`)
      )
    } else {
      ids.set(id, item.component)
      idPaths.set(id, item.path)
    }
  }
  for (const item of located) checkComponent(file, job.target, item, config.variables, ids, issues)
  checkFilterTables(file, config, "workflows" in config, issues)
  if ("executors" in config) {
    const routed = new Map<string, number>()
    config.executors.forEach((entry, index) =>
      entry.tasks.forEach((task, taskIndex) => {
        const earlier = routed.get(task)
        if (earlier !== undefined) {
          issues.push(
            issueAt(
              file,
              ["executors", index, "tasks", taskIndex],
              `task '${task}' is already routed to executors[${earlier}]`
            )
          )
        }
        routed.set(task, index)
      })
    )
    const clientApis = config.executors.flatMap((entry, index) =>
      entry.executor.path === Executors.ClientAPIExecutor.path ? [index] : []
    )
    if (clientApis.length > 1) {
      issues.push(
        issueAt(
          file,
          ["executors"],
          `executors ${
            clientApis.join(", ")
          } are ClientAPIExecutors; FLARE allows one per client app (route all tasks to it)`
        )
      )
    }
  }
  if ("workflows" in config && !JobMeta.deploysToAll(job.meta)) {
    const clients = JobMeta.clients(job.meta).length
    config.workflows.forEach((workflow, index) => {
      const minClients = workflow.path === Workflows.ScatterAndGather.path ? workflow.args["min_clients"] : undefined
      if (typeof minClients === "number" && minClients > clients) {
        issues.push(
          issueAt(
            file,
            ["workflows", index, "args", "min_clients"],
            `ScatterAndGather would wait for ${minClients} clients; deploy_map names ${clients}`
          )
        )
      }
    })
  }
}
