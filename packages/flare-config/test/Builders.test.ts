import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { Aggregators, Catalog, Component, Executors, Filters, Persistors, Widgets, Workflows } from "../src/index.js"

const issues = <A>(result: Either.Either<A, Component.InvalidComponent>) =>
  Either.match(result, {
    onLeft: (error) => error.issues.map((issue) => `${issue.path}: ${issue.message}`),
    onRight: () => []
  })

const right = <A, E>(result: Either.Either<A, E>): A => Either.getOrThrowWith(result, (error) => error)

describe("catalog builders", () => {
  it("emit FLARE's class path, the given id and exactly the given args", () => {
    assert.deepStrictEqual(right(Workflows.fedAvg({ num_clients: 2, num_rounds: 3 }, { id: "fedavg" })), {
      id: "fedavg",
      path: "nvflare.app_common.workflows.fedavg.FedAvg",
      args: { num_clients: 2, num_rounds: 3 }
    })
    assert.deepStrictEqual(right(Persistors.npModelPersistor({ model: [[1, 2], [3, 4]] })), {
      id: "persistor",
      path: "nvflare.app_common.np.np_model_persistor.NPModelPersistor",
      args: { model: [[1, 2], [3, 4]] }
    })
    assert.deepStrictEqual(right(Aggregators.fullModelShareableGenerator()), {
      id: "shareable_generator",
      path: "nvflare.app_common.shareablegenerators.full_model_shareable_generator.FullModelShareableGenerator",
      args: {}
    })
    assert.strictEqual(
      right(Aggregators.inTimeAccumulateWeightedAggregator({ expected_data_kind: "WEIGHTS" })).id,
      "aggregator"
    )
    assert.strictEqual(right(Persistors.npModelLocator()).id, "model_locator")
    assert.strictEqual(right(Widgets.validationJsonGenerator()).id, "json_generator")
    assert.isUndefined(right(Filters.excludeVars({ exclude_vars: ["bias"] })).id)
  })

  it("whose arguments are all optional may be called without them; the others may not", () => {
    assert.deepStrictEqual(right(Workflows.fedAvg()), { path: Workflows.FedAvg.path, args: {} })
    assert.deepStrictEqual(right(Filters.excludeVars()), { path: Filters.ExcludeVars.path, args: {} })
    assert.deepStrictEqual(right(Workflows.crossSiteModelEval()), { path: Workflows.CrossSiteModelEval.path, args: {} })
    // @ts-expect-error ScatterAndGather needs min_clients
    assert.isTrue(Either.isLeft(Workflows.scatterAndGather()))
    // @ts-expect-error ClientAPIExecutor needs an execution_mode
    assert.isTrue(Either.isLeft(Executors.clientApi()))
  })

  it("reject values FLARE's constructors would reject, with the argument's path", () => {
    assert.deepStrictEqual(issues(Workflows.fedAvg({ num_rounds: 0, num_clients: 1.5, stop_cond: "accuracy>0.8" })), [
      "$.num_clients: Expected an integer, actual 1.5",
      "$.num_rounds: Expected a positive integer",
      `$.stop_cond: Expected "<metric> <op> <number>" with op one of >=, <=, >, <, = (e.g. "accuracy >= 0.8")`
    ])
    assert.deepStrictEqual(issues(Persistors.npModelPersistor({ model: [[1, 2], [3]] })), [
      "$.model: Expected a rectangular array (every row the same shape)"
    ])
    assert.deepStrictEqual(issues(Persistors.npModelPersistor({ model_dir: "../elsewhere" })), [
      `$.model_dir: Expected a relative path without "..", "." or empty segments, actual "../elsewhere"`
    ])
    assert.deepStrictEqual(issues(Filters.percentilePrivacy({ percentile: 101 })), [
      "$.percentile: Expected a number between 0 and 100, actual 101"
    ])
    assert.deepStrictEqual(issues(Workflows.crossSiteModelEval({ submit_model_timeout: -1 })), [
      "$.submit_model_timeout: Expected an integer greater than or equal to 0"
    ])
  })

  it("make unknown or wrong-typed args compile errors, and reject them at runtime too", () => {
    // @ts-expect-error num_round is not a FedAvg argument
    const [unknown, ...more] = issues(Workflows.fedAvg({ num_round: 3 }))
    assert.match(unknown ?? "", /^\$\.num_round: is unexpected, expected: "num_clients" \| "num_rounds" \|/)
    assert.deepStrictEqual(more, [])
    // @ts-expect-error num_rounds is a number
    assert.isTrue(Either.isLeft(Workflows.fedAvg({ num_rounds: "3" })))
    // @ts-expect-error ScatterAndGather needs min_clients (FLARE's default of 1000 waits forever)
    assert.isTrue(Either.isLeft(Workflows.scatterAndGather({ num_rounds: 2 })))
    // @ts-expect-error FullModelShareableGenerator takes no arguments, only an id
    Aggregators.fullModelShareableGenerator({ expected_data_kind: "WEIGHTS" })
  })
})

describe("Executors.clientApi", () => {
  it("builds each execution mode", () => {
    assert.deepStrictEqual(
      right(Executors.clientApi({ execution_mode: "external_process", command: ["python3", "custom/train.py"] })).args,
      { execution_mode: "external_process", command: ["python3", "custom/train.py"] }
    )
    assert.isTrue(Either.isRight(Executors.clientApi({ execution_mode: "in_process", task_script_path: "train.py" })))
    assert.isTrue(Either.isRight(Executors.clientApi({ execution_mode: "attach", attach_id: "trainer_1" })))
  })

  it("makes an argument of another mode a compile error and a runtime error", () => {
    assert.isTrue(
      Either.isLeft(
        // @ts-expect-error command is external_process only
        Executors.clientApi({ execution_mode: "in_process", task_script_path: "train.py", command: "python3 x.py" })
      )
    )
    assert.isTrue(
      Either.isLeft(
        // @ts-expect-error launch_once is external_process only
        Executors.clientApi({ execution_mode: "attach", attach_id: "a", launch_once: false })
      )
    )
    // @ts-expect-error external_process needs a command
    assert.isTrue(Either.isLeft(Executors.clientApi({ execution_mode: "external_process" })))
  })

  it("applies the constructor's cross-argument rules", () => {
    assert.deepStrictEqual(
      issues(
        Executors.clientApi({ execution_mode: "external_process", command: "python3 x.py", heartbeat_interval: 30 })
      ),
      ["$.heartbeat_interval: heartbeat_interval 30 must be less than heartbeat_timeout 30"]
    )
    assert.deepStrictEqual(
      issues(
        Executors.clientApi({
          execution_mode: "external_process",
          command: "python3 x.py",
          params_exchange_format: "pytorch",
          server_expected_format: "keras_layer_weights"
        })
      ),
      ["$.params_exchange_format: FLARE cannot convert parameters between pytorch and keras_layer_weights"]
    )
    assert.deepStrictEqual(issues(Executors.clientApi({ execution_mode: "external_process", command: "   " })), [
      "$.command: Expected a command: a non-blank string, or a list of strings whose first names a program"
    ])
    assert.deepStrictEqual(issues(Executors.clientApi({ execution_mode: "attach", attach_id: "bad id!" })), [
      "$.attach_id: Expected 1-64 ASCII letters, digits, '_' or '-'"
    ])
  })
})

describe("Component.make", () => {
  it("takes any dotted class path with JSON args", () => {
    assert.deepStrictEqual(right(Component.make({ id: "net", path: "model.Net", args: { layers: [3, 4] } })), {
      id: "net",
      path: "model.Net",
      args: { layers: [3, 4] }
    })
  })

  it("rejects what FLARE's allow-list pattern rejects, and non-JSON args", () => {
    assert.deepStrictEqual(issues(Component.make({ path: "Net", args: { x: NaN } })), [
      `$.path: Expected a fully qualified class path (dotted Python identifiers, e.g. "package.module.Class"), actual "Net"`,
      "$.args.x: Expected a finite number, actual NaN"
    ])
    assert.isTrue(Either.isLeft(Component.make({ path: "os.system; rm" })))
    assert.isTrue(Either.isLeft(Component.make({ path: "a..b" })))
  })
})

describe("Catalog", () => {
  it("knows each entry by class path and lists the argument names per target", () => {
    for (const entry of Catalog.entries) {
      assert.strictEqual(Catalog.byPath(entry.path).pipe((found) => found._tag === "Some" && found.value), entry)
    }
    assert.include(Catalog.argNames(Workflows.FedAvg, "2.9"), "fedprox_mu")
    assert.notInclude(Catalog.argNames(Workflows.FedAvg, "2.8"), "fedprox_mu")
    assert.includeMembers([...Catalog.argNames(Executors.ClientAPIExecutor, "2.9")], [
      "execution_mode",
      "command",
      "task_script_path",
      "attach_id",
      "launch_once"
    ])
  })
})
