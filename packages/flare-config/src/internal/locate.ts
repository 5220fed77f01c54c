import type { ClientConfig } from "../ClientConfig.js"
import { className, type Component } from "../Component.js"
import type { ServerConfig } from "../ServerConfig.js"

export type Key = string | number
export type Slot = "workflow" | "component" | "executor" | "filter"

export interface Located {
  readonly slot: Slot
  /** JSON path of the component inside its config file. */
  readonly path: ReadonlyArray<Key>
  readonly component: Component
}

/** The id FLARE knows a component by: its `id`, or for a workflow without one, its class name. */
export const effectiveId = (item: Located): string | undefined =>
  item.component.id ?? (item.slot === "workflow" ? className(item.component.path) : undefined)

/** Every component of a config, in file order, with where it sits. */
export const locate = (config: ServerConfig | ClientConfig): ReadonlyArray<Located> => {
  const located: Array<Located> = []
  if ("workflows" in config) {
    config.workflows.forEach((component, index) =>
      located.push({ slot: "workflow", path: ["workflows", index], component })
    )
  }
  if ("executors" in config) {
    config.executors.forEach((entry, index) =>
      located.push({ slot: "executor", path: ["executors", index, "executor"], component: entry.executor })
    )
  }
  config.components.forEach((component, index) =>
    located.push({ slot: "component", path: ["components", index], component })
  )
  for (const list of ["task_data_filters", "task_result_filters"] as const) {
    config[list].forEach((chain, chainIndex) =>
      chain.filters.forEach((component, index) =>
        located.push({ slot: "filter", path: [list, chainIndex, "filters", index], component })
      )
    )
  }
  return located
}
