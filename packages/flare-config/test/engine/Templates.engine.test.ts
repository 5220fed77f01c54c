// FLARE's own job templates (shipped in nvflare 2.9.0 as HOCON/JSON under nvflare/tool/job/templates), loaded with
// FLARE's ConfigFactory, must decode: the schemas accept what FLARE's authors write, not just what this package writes.
// (Decoding only: templates are partial jobs, so whole-job checks do not apply.)
import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { Catalog, ClientConfig, type Issue, JobMeta, ServerConfig } from "../../src/index.js"
import { checkArgs } from "../../src/internal/args.js"
import { locate } from "../../src/internal/locate.js"
import { FlareLive, runPython } from "../support/python.js"

const LOAD_TEMPLATES = `
import json, os
import nvflare
from nvflare.fuel.utils.config_factory import ConfigFactory
root = os.path.join(os.path.dirname(nvflare.__file__), "tool", "job", "templates")
out = {}
for dirpath, _, files in os.walk(root):
    for name in sorted(files):
        if name.split(".")[0] in ("meta", "config_fed_server", "config_fed_client"):
            path = os.path.join(dirpath, name)
            out[os.path.relpath(path, root)] = ConfigFactory.load_config(path).to_dict()
print(json.dumps(out))
`

layer(FlareLive, { excludeTestServices: true })("FLARE's job templates", (it) => {
  it.effect(
    "decode, and the args they give catalog classes pass the catalog's constructor checks",
    () =>
      Effect.gen(function*() {
        const templates = yield* runPython<Record<string, unknown>>(LOAD_TEMPLATES, null)
        const names = Object.keys(templates)
        assert.isAtLeast(names.length, 60)
        assert.isTrue(names.some((name) => name.endsWith("meta.json")) && names.some((name) => name.endsWith(".conf")))
        const problems: Array<string> = []
        let checked = 0
        for (const name of names) {
          const content = templates[name]
          const base = name.split("/").pop()!.split(".")[0]
          if (base === "meta") {
            const meta = JobMeta.decode(content)
            if (Either.isLeft(meta)) problems.push(...meta.left.issues.map((issue) => `${name}: ${issue.toString()}`))
            continue
          }
          const config: Either.Either<ServerConfig.ServerConfig | ClientConfig.ClientConfig, Issue.DecodeError> =
            base === "config_fed_server" ? ServerConfig.decode(content, name) : ClientConfig.decode(content, name)
          if (Either.isLeft(config)) {
            problems.push(...config.left.issues.map((issue) => `${name}: ${issue.toString()}`))
            continue
          }
          for (const item of locate(config.right)) {
            const entry = Catalog.byPath(item.component.path)
            if (Option.isNone(entry) || !entry.value.targets.includes("2.9")) continue
            checked++
            for (const issue of checkArgs(entry.value, item.component.args, config.right.variables)) {
              problems.push(`${name} ${item.path.join(".")}.args.${issue.path.join(".")}: ${issue.message}`)
            }
          }
        }
        // The one finding is real: FLARE reads no "required_clients" (the key is mandatory_clients), so a template
        // that sets it expresses nothing; refusing it is the point of exact decoding.
        assert.deepStrictEqual(problems, [
          `sag_cross_np/meta.conf: meta.json $.required_clients: is unexpected, expected: "name" | "deploy_map" | "resource_spec" | "min_clients" | "mandatory_clients" | "launcher_spec" | "scope" | "custom_props"`
        ])
        assert.isAtLeast(checked, 30)
      }),
    { timeout: 60_000 }
  )
})
