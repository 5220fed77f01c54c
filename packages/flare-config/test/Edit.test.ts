import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { ClientConfig, Component, Edit, Filters, ServerConfig } from "../src/index.js"

const FEDAVG = "nvflare.app_common.workflows.fedavg.FedAvg"
const PERSISTOR = "nvflare.app_common.np.np_model_persistor.NPModelPersistor"
const EXCLUDE = "nvflare.app_common.filters.exclude_vars.ExcludeVars"

// A template as teams keep them: what matters is found by id or class, never by position.
const template = Either.getOrThrow(ServerConfig.decode({
  format_version: 2,
  workflows: [{ id: "fedavg", path: FEDAVG, args: { num_clients: 2, num_rounds: 3 } }],
  components: [
    { id: "persistor", path: PERSISTOR, args: { model: [[1, 2]] } },
    { id: "json", path: "nvflare.app_common.widgets.validation_json_generator.ValidationJsonGenerator" }
  ],
  task_result_filters: [{ tasks: ["train"], filters: [{ path: EXCLUDE, args: { exclude_vars: ["bias"] } }] }]
}))

const reordered: ServerConfig.ServerConfig = { ...template, components: [...template.components].reverse() }

describe("Edit", () => {
  it("finds a component by id or class path wherever it sits", () => {
    for (const config of [template, reordered]) {
      assert.deepStrictEqual(Either.getOrThrow(Edit.find(config, { id: "persistor" })).component.args, {
        model: [[1, 2]]
      })
    }
    assert.strictEqual(Either.getOrThrow(Edit.find(reordered, { id: "persistor" })).path, "$.components[1]")
    assert.strictEqual(
      Either.getOrThrow(Edit.find(template, { path: EXCLUDE })).path,
      "$.task_result_filters[0].filters[0]"
    )
    assert.strictEqual(Either.getOrThrow(Edit.find({ path: FEDAVG })(template)).component.id, "fedavg")
  })

  it("fails on a missing or ambiguous target", () => {
    const missing = Either.flip(Edit.find(template, { id: "persister" })).pipe(Either.getOrThrow)
    assert.strictEqual(missing._tag, "ComponentNotFound")
    assert.strictEqual(
      missing.message,
      "no component with id 'persister'; the config has 'fedavg', 'persistor', 'json'"
    )
    const twice: ServerConfig.ServerConfig = {
      ...template,
      components: [...template.components, { id: "persistor2", path: PERSISTOR, args: {} }]
    }
    const ambiguous = Either.flip(Edit.updateArgs(twice, { path: PERSISTOR }, { model_dir: "m" })).pipe(
      Either.getOrThrow
    )
    assert.strictEqual(ambiguous._tag, "AmbiguousComponent")
    assert.strictEqual(
      ambiguous.message,
      `2 components match class path '${PERSISTOR}' ($.components[0], $.components[2]); select by id`
    )
  })

  it("updates args immutably, whatever the order of the template", () => {
    for (const config of [template, reordered]) {
      const before = structuredClone(config)
      const updated = Either.getOrThrow(
        Edit.updateArgs(config, { id: "fedavg" }, { num_rounds: 10, num_clients: undefined })
      )
      assert.deepStrictEqual(updated.workflows[0].args, { num_rounds: 10 })
      assert.deepStrictEqual(updated.components, config.components)
      assert.deepStrictEqual(config, before)
    }
    const viaFunction = Edit.updateArgs({ id: "persistor" }, (args) => ({ ...args, model_name: "m.npy" }))(template)
    assert.deepStrictEqual(Either.getOrThrow(viaFunction).components[0]?.args, { model: [[1, 2]], model_name: "m.npy" })
  })

  it("checks the new args of a catalog class against its constructor", () => {
    const error = Either.flip(Edit.updateArgs(template, { id: "fedavg" }, { num_rounds: 0, rounds: 3 })).pipe(
      Either.getOrThrow
    )
    assert.strictEqual(error._tag, "InvalidComponent")
    assert.deepStrictEqual(error._tag === "InvalidComponent" ? error.issues.map(String) : [], [
      `$.args.rounds: FedAvg: is unexpected, expected: "num_clients" | "num_rounds" | "start_round" | "memory_gc_rounds" | "persistor_id" | "ignore_result_error" | "allow_empty_global_weights" | "task_check_period" | "model" | "save_filename" | "aggregator" | "stop_cond" | "patience" | "task_name" | "exclude_vars" | "aggregation_weights" | "enable_tensor_disk_offload" | "fedprox_mu"`,
      "$.args.num_rounds: FedAvg: Expected a positive integer"
    ])
    const proto = Either.flip(Edit.updateArgs(template, { id: "json" }, JSON.parse(`{"__proto__": {"x": 1}}`))).pipe(
      Either.getOrThrow
    )
    assert.strictEqual(proto._tag, "InvalidComponent")
  })

  it("adds and replaces components, refusing a taken id", () => {
    const extra = Either.getOrThrow(Component.make({ id: "extra", path: "custom_module.Widget" }))
    const added = Either.getOrThrow(Edit.add(template, extra))
    assert.deepStrictEqual(added.components.map((component) => component.id), ["persistor", "json", "extra"])
    const taken = Either.flip(Edit.add(added, extra)).pipe(Either.getOrThrow)
    assert.strictEqual(taken.message, "invalid edit: the id 'extra' is already taken")
    const workflow = Either.getOrThrow(Component.make({ id: "cse", path: "x.CrossSite" }))
    assert.strictEqual(Either.getOrThrow(Edit.add(template, workflow, { to: "workflows" })).workflows.length, 2)
    const replaced = Either.getOrThrow(Edit.replace(template, { id: "json" }, { ...extra, id: "json" }))
    assert.strictEqual(replaced.components[1]?.path, "custom_module.Widget")
    assert.strictEqual(
      Either.flip(Edit.replace(template, { id: "json" }, { ...extra, id: "fedavg" })).pipe(Either.getOrThrow)._tag,
      "InvalidEdit"
    )
  })

  it("removes components; a chain left empty goes, the last workflow or executor cannot", () => {
    const withoutFilter = Either.getOrThrow(Edit.remove(template, { path: EXCLUDE }))
    assert.deepStrictEqual(withoutFilter.task_result_filters, [])
    assert.deepStrictEqual(Either.getOrThrow(Edit.remove(template, { id: "json" })).components.map((c) => c.id), [
      "persistor"
    ])
    assert.strictEqual(
      Either.flip(Edit.remove(template, { id: "fedavg" })).pipe(Either.getOrThrow).message,
      "invalid edit: a server config needs at least one workflow"
    )
    const client = Either.getOrThrow(ClientConfig.decode({
      format_version: 2,
      executors: [{ tasks: ["*"], executor: { id: "trainer", path: "x.Executor" } }]
    }))
    assert.strictEqual(
      Either.flip(Edit.remove(client, { id: "trainer" })).pipe(Either.getOrThrow).message,
      "invalid edit: a client config needs at least one executor"
    )
    const twoFilters = {
      ...template,
      task_result_filters: [
        Filters.chain(["train"], [template.task_result_filters[0]!.filters[0], { path: "x.Other", args: {} }])
      ]
    }
    assert.deepStrictEqual(
      Either.getOrThrow(Edit.remove(twoFilters, { path: EXCLUDE })).task_result_filters[0]?.filters.map((f) => f.path),
      ["x.Other"]
    )
  })

  it.effect("composes in Effect code: every edit is an Either", () =>
    Effect.gen(function*() {
      const edited = yield* Edit.updateArgs(template, { id: "fedavg" }, { num_rounds: 4 }).pipe(
        Either.flatMap(Edit.remove({ id: "json" }))
      )
      assert.strictEqual(edited.workflows[0].args["num_rounds"], 4)
      assert.strictEqual(edited.components.length, 1)
    }))
})
