// The catalog held against the real engine: nvflare 2.9.0 from the project's venv, and nvflare 2.8.1's source for
// the 2.8 target. Every class path must import, every argument name a builder can emit must be a constructor
// parameter, every required parameter must be required by the builder, and what the builders emit must construct.
import { assert, describe, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as SchemaAST from "effect/SchemaAST"
import { Catalog, type Component, Executors, type FlareTarget, Job, JobMeta, ServerConfig } from "../../src/index.js"
import { buildJob } from "../support/fedavgJob.js"
import { nvflare28Source, NVFLARE_28 } from "../support/nvflare28.js"
import { FlareLive, runPython } from "../support/python.js"
import { samples } from "../support/samples.js"

const INTROSPECT = `
import importlib, inspect, json, sys
spec = json.load(sys.stdin)

def load(path):
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)

# Keyword parameters FLARE can pass: follow the MRO while __init__ forwards **kwargs, as FLARE's own
# get_component_init_parameters does; a class without its own __init__ inherits its base's.
def parameters(cls):
    found = {}
    for klass in inspect.getmro(cls):
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        forwards = False
        for p in list(inspect.signature(init).parameters.values())[1:]:
            if p.kind is p.VAR_KEYWORD:
                forwards = True
            elif p.kind is not p.VAR_POSITIONAL:
                found.setdefault(p.name, p.default is p.empty)
        if not forwards:
            break
    return found

classes = {}
for path in spec["paths"]:
    try:
        classes[path] = {"parameters": parameters(load(path))}
    except Exception as e:
        classes[path] = {"error": "%s: %s" % (type(e).__name__, e)}

from nvflare.fuel.utils.class_utils import instantiate_class
substitutions = spec.get("substitutions", {})
def substitute(value):
    if isinstance(value, str) and value in substitutions:
        return substitutions[value]
    if isinstance(value, dict):
        return {k: substitute(v) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v) for v in value]
    return value

# Configs arrive as the text this package wrote, so Python's json reads 1.0 as a float just as FLARE will.
components = []
for text in spec.get("configs", []):
    config = json.loads(text)
    components += [entry["executor"] for entry in config.get("executors", [])]
    components += config.get("workflows", []) + config.get("components", [])
components += spec.get("instances", [])

instances = []
for component in components:
    try:
        instantiate_class(component["path"], substitute(component.get("args", {})))
        instances.append(None)
    except Exception as e:
        instances.append("%s: %s" % (type(e).__name__, e))

import nvflare
print(json.dumps({"version": nvflare.__version__, "classes": classes, "instances": instances}))
`

interface Introspection {
  readonly version: string
  readonly classes: Readonly<
    Record<string, { readonly parameters?: Readonly<Record<string, boolean>>; readonly error?: string }>
  >
  readonly instances: ReadonlyArray<string | null>
}

// Names every member of the args schema requires (a union member per execution mode).
const requiredNames = (entry: Catalog.Entry): ReadonlyArray<string> => {
  const members = (ast: SchemaAST.AST): ReadonlyArray<SchemaAST.TypeLiteral> =>
    ast._tag === "TypeLiteral" ? [ast] : ast._tag === "Union" ? ast.types.flatMap(members) : []
  const literals = members(Schema.encodedSchema(entry.args).ast)
  const required = literals.map((literal) =>
    new Set(literal.propertySignatures.filter((p) => !p.isOptional).map((p) => String(p.name)))
  )
  return [...(required[0] ?? [])].filter((name) => required.every((set) => set.has(name)))
}

const checkEntries = (result: Introspection, target: FlareTarget.FlareTarget) => {
  for (const entry of Catalog.entries.filter((candidate) => candidate.targets.includes(target))) {
    const found = result.classes[entry.path]
    assert.isUndefined(found?.error, `${entry.path} does not import in nvflare ${result.version}`)
    const parameters = found?.parameters ?? {}
    const unknown = Catalog.argNames(entry, target).filter((name) => !(name in parameters))
    assert.deepStrictEqual(unknown, [], `${entry.name} emits arguments its ${result.version} constructor lacks`)
    const requiredByFlare = Object.entries(parameters).filter(([, required]) => required).map(([name]) => name)
    assert.deepStrictEqual(
      requiredByFlare.filter((name) => !requiredNames(entry).includes(name)),
      [],
      `${entry.name}: the builder can omit an argument FLARE ${result.version} requires`
    )
  }
}

// Components as they are written: through Job.render, so floats and canonical JSON are what FLARE reads.
const serverText = (components: ReadonlyArray<Component.Component>) =>
  Effect.gen(function*() {
    const server = yield* ServerConfig.make({
      workflows: [components[0]!],
      components: components.slice(1).map((component, index) => ({ ...component, id: `c${index}` }))
    })
    const meta = yield* JobMeta.make({ name: "samples", deploy_map: { app: ["@ALL"] } })
    const job = yield* Job.make({ meta, apps: { app: { server } } })
    return Job.render(job)["app/config/config_fed_server.json"]!
  })

layer(FlareLive, { excludeTestServices: true })("catalog against nvflare", (it) => {
  describe("2.9 target, installed nvflare 2.9.0", () => {
    it.effect(
      "every class imports, every emitted argument is a parameter, every sample constructs",
      () =>
        Effect.gen(function*() {
          const built = yield* samples
          // The same CrossSiteModelEval args through plain JSON.stringify: the whole 1.0 becomes the int 1.
          const crossSite = built.find((component) => component.path.endsWith("CrossSiteModelEval"))!
          const result = yield* runPython<Introspection>(INTROSPECT, {
            paths: [...Catalog.entries.map((entry) => entry.path), ...Catalog.removedIn29],
            configs: [yield* serverText(built)],
            instances: [{ path: crossSite.path, args: crossSite.args }]
          })
          assert.strictEqual(result.version, "2.9.0")
          checkEntries(result, "2.9")
          assert.deepStrictEqual(result.instances.slice(0, built.length), built.map(() => null))
          assert.match(result.instances[built.length] ?? "", /task_check_period must be float/)
          for (const path of Catalog.removedIn29) {
            assert.match(result.classes[path]?.error ?? "", /ModuleNotFoundError/, `${path} still exists in 2.9.0`)
          }
          // Every argument of every 2.9 entry is exercised by a sample, so every argument type was constructed.
          for (const entry of Catalog.entries.filter((candidate) => candidate.targets.includes("2.9"))) {
            const used = new Set(built.filter((c) => c.path === entry.path).flatMap((c) => Object.keys(c.args)))
            assert.deepStrictEqual(Catalog.argNames(entry, "2.9").filter((name) => !used.has(name)), [], entry.name)
          }
        }),
      { timeout: 120_000 }
    )
  })

  describe(`2.8 target, nvflare ${NVFLARE_28.version} source`, () => {
    it.effect(
      "every class imports, every emitted argument is a parameter, the 2.8 rewrite constructs",
      () =>
        Effect.gen(function*() {
          const source = yield* nvflare28Source
          const job = yield* buildJob({ clients: 2, rounds: 1, scale: 1, target: "2.8" })
          const prepared = yield* Job.toFiles(job)
          const inProcessExecutor29 = yield* Executors.clientApi({
            execution_mode: "in_process",
            task_script_path: "train.py",
            params_exchange_format: "numpy"
          })
          const app = job.apps["app"]!
          const inProcess: Job.FlareJob = {
            ...job,
            apps: {
              app: { ...app, client: { ...app.client!, executors: [Executors.assign(["*"], inProcessExecutor29)] } }
            }
          }
          const inProcessFiles = yield* Job.toFiles(inProcess)
          const server = (yield* samples).filter((component) =>
            Option.exists(Catalog.byPath(component.path), (entry) => entry.targets.includes("2.8"))
          ).map((component) => ({
            ...component,
            args: Object.fromEntries(
              Object.entries(component.args).filter(([name]) =>
                !Option.exists(Catalog.byPath(component.path), (entry) => entry.since29.includes(name))
              )
            )
          }))
          const result = yield* runPython<Introspection>(INTROSPECT, {
            paths: [...Catalog.entries.map((entry) => entry.path), ...Catalog.removedIn29],
            configs: [
              prepared["app/config/config_fed_client.json"]!,
              inProcessFiles["app/config/config_fed_client.json"]!,
              yield* serverText(server)
            ],
            // What FLARE substitutes for the system variables before it builds the components.
            substitutions: {
              "{SITE_NAME}": "site-1",
              "{JOB_ID}": "job",
              "{CP_URL}": "tcp://localhost:8002",
              "{SECURE_MODE}": false,
              "{WORKSPACE}": "/tmp"
            }
          }, { pythonPath: source })
          assert.strictEqual(result.version, NVFLARE_28.version)
          checkEntries(result, "2.8")
          assert.deepStrictEqual(result.instances, result.instances.map(() => null))
          for (const path of Catalog.removedIn29) {
            // The PyTorch and TensorFlow variants need those frameworks, which the project's venv does not have.
            const found = result.classes[path]
            assert.isTrue(
              found?.parameters !== undefined || /No module named '(torch|tensorflow)'/.test(found?.error ?? ""),
              `${path}: ${found?.error}`
            )
          }
          const executor29 = result.classes[Executors.ClientAPIExecutor.path]
          assert.match(executor29?.error ?? "", /ModuleNotFoundError/)
        }),
      { timeout: 180_000 }
    )
  })
})
