// Every fast path answers exactly what the general path answers, failures included: the payload decoders a runtime
// compiles once (against Effect's own parser), and a `function*` template stepped without a fiber (against the same
// body run by `Effect.gen`).
import { assert, describe, it } from "@effect/vitest"
import { CompiledSchema, Executors, Persistors, Workflows } from "@fedkit/flare-config"
import * as Arbitrary from "effect/Arbitrary"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { YieldWrap } from "effect/Utils"
import * as Dataset2Gw from "../src/Dataset2Gw.js"
import * as Fields from "../src/Fields.js"
import * as Issue from "../src/Issue.js"
import type { TemplateOutput } from "../src/JobFiles.js"
import * as Runtime from "../src/Runtime.js"
import { Payload } from "./fixtures/contractRuntime.js"

// Payload shapes runtimes declare: literals, bounded numbers with defaults, checked text, nested structs, arrays,
// unions of structs, and a transformation (a number sent as a string).
const Rich = Schema.Struct({
  run_name: Schema.optionalWith(Fields.Text({ maxLength: 12 }), { default: () => "unnamed" }),
  site: Fields.Name(),
  rounds: Schema.Int.pipe(Schema.between(1, 5)),
  seed: Schema.optionalWith(Schema.NumberFromString, { exact: true }),
  layers: Schema.Array(
    Schema.Struct({ units: Schema.Int.pipe(Schema.positive()), dropout: Schema.optional(Schema.Number) })
  ),
  optimizer: Schema.Union(
    Schema.Struct({ kind: Schema.Literal("adam"), beta: Schema.Number }),
    Schema.Struct({ kind: Schema.Literal("sgd"), momentum: Schema.optionalWith(Schema.Number, { default: () => 0 }) })
  )
})

const options = [
  { errors: "all", onExcessProperty: "error" },
  { errors: "all", onExcessProperty: "ignore" }
] as const

const inputsFor = <A, I>(schema: Schema.Schema<A, I>): FastCheck.Arbitrary<unknown> => {
  const encoded = Arbitrary.make(Schema.encodedSchema(schema))
  const changed = FastCheck.tuple(encoded, FastCheck.anything({ maxDepth: 2 }), FastCheck.nat()).map(
    ([value, replacement, index]) => {
      const keys = Object.keys(value as object)
      return keys.length === 0 ? replacement : { ...(value as object), [keys[index % keys.length]!]: replacement }
    }
  )
  return FastCheck.oneof(encoded, changed, FastCheck.anything({ maxDepth: 3 }))
}

/** Both answers, as a runtime reports them: the value, or the issues a user reads. */
const agree = <A, I>(schema: Schema.Schema<A, I>, input: unknown) => {
  for (const option of options) {
    const fast = CompiledSchema.decodeUnknownIssueEither(schema, option)(input)
    const general = ParseResult.decodeUnknownEither(schema, option)(input)
    assert.deepStrictEqual(
      Either.mapLeft(fast, Issue.fromParseIssue),
      Either.mapLeft(general, Issue.fromParseIssue)
    )
    if (Either.isRight(general)) {
      const typed = Schema.typeSchema(schema)
      assert.strictEqual(CompiledSchema.is(typed)(general.right), Schema.is(typed)(general.right))
    }
    assert.strictEqual(CompiledSchema.is(Schema.typeSchema(schema))(input), Schema.is(Schema.typeSchema(schema))(input))
  }
}

describe("compiled payload decoders", () => {
  it.prop(
    "decode the contract's payload as Effect's parser does, issue for issue",
    [inputsFor(Payload)],
    ([input]) => agree(Payload, input),
    { fastCheck: { numRuns: 300 } }
  )

  it.prop(
    "decode nested, transformed and union payloads as Effect's parser does",
    [inputsFor(Rich)],
    ([input]) => agree(Rich, input),
    { fastCheck: { numRuns: 300 } }
  )

  it("give parse the same values and the same refusals", () => {
    const runtime = Runtime.defineRuntime({ payload: Rich, template: () => ({}) })
    const body = { site: "s-1", rounds: 2, seed: "7", layers: [{ units: 3 }], optimizer: { kind: "sgd" } }
    assert.deepStrictEqual(runtime.parse(JSON.stringify(body)), {
      run_name: "unnamed",
      site: "s-1",
      rounds: 2,
      seed: 7,
      layers: [{ units: 3 }],
      optimizer: { kind: "sgd", momentum: 0 }
    })
    const refused = Either.flip(Either.try(() => runtime.parse(JSON.stringify({ ...body, rounds: 9, extra: 1 }))))
    const general = ParseResult.decodeUnknownEither(Rich, options[0])({ ...body, rounds: 9, extra: 1 })
    assert.isTrue(Either.isRight(refused) && Either.isLeft(general))
    if (Either.isRight(refused) && Either.isLeft(general)) {
      assert.deepStrictEqual((refused.right as Runtime.TemplateError).issues, Issue.fromParseIssue(general.left))
    }
  })
})

type Body = Runtime.Definition<typeof Payload.Type, typeof Payload.Encoded, Record<never, never>>["template"]

/** One template body, run as a `function*` template (stepped without a fiber when it can be) and inside Effect.gen. */
const bothForms = (
  body: (
    payload: typeof Payload.Type,
    minClients: number
  ) => Generator<YieldWrap<Effect.Effect<unknown, unknown, never>>, TemplateOutput, never>
) => {
  const generator: Body = (payload, { minClients }) => body(payload, minClients)
  const effect: Body = (payload, { minClients }) => Effect.gen(() => body(payload, minClients))
  return [generator, effect].map((template) => Runtime.defineRuntime({ payload: Payload, template }))
}

const answer = (runtime: Runtime.Runtime<typeof Payload.Type>, payload: typeof Payload.Type, map: unknown) =>
  Effect.runSync(Effect.either(runtime.templateEffect(payload, map)))

// Builders yield*ed, their components placed in a file map (the README's example assembles a FlareJob instead).
const fedAvg = function*(payload: typeof Payload.Type, minClients: number) {
  const workflow = yield* Workflows.fedAvg({ num_rounds: payload.num_federation_rounds, persistor_id: "persistor" })
  const persistor = yield* Persistors.npModelPersistor({}, { id: "persistor" })
  const executor = yield* Executors.clientApi({
    execution_mode: "external_process",
    command: ["python3", "custom/train.py", payload.optimizer_name],
    params_exchange_format: "numpy"
  })
  return {
    "meta.json": { name: "job", deploy_map: { app: ["@ALL"] }, min_clients: minClients },
    "app/config/config_fed_server.json": { format_version: 2, workflows: [workflow], components: [persistor] },
    "app/config/config_fed_client.json": { format_version: 2, executors: [{ tasks: ["*"], executor }] },
    "app/custom/train.py": "print(1)\n"
  }
}

describe("function* templates", () => {
  const [stepped, inFiber] = bothForms(fedAvg)

  it.prop(
    "render what the same body renders in Effect.gen, at once (an Either: no fiber)",
    [Payload, Dataset2Gw.Dataset2Gw],
    ([payload, map]) => {
      assert.isTrue(Either.isEither(stepped!.templateEffect(payload, map)))
      assert.isFalse(Either.isEither(inFiber!.templateEffect(payload, map)))
      assert.deepStrictEqual(answer(stepped!, payload, map), answer(inFiber!, payload, map))
      assert.deepStrictEqual(stepped!.template(payload, map), inFiber!.template(payload, map))
    },
    { fastCheck: { numRuns: 30 } }
  )

  const payload = Payload.make({ optimizer_name: "adam", learning_rate: 0.1, num_federation_rounds: 3 })
  const map = { "ds-1": "site-1" }

  it("fail as the same body fails in Effect.gen: builder failures, throws, Effects, defects, bad yields", () => {
    const bodies: ReadonlyArray<Parameters<typeof bothForms>[0]> = [
      function*() {
        return yield* Workflows.fedAvg({ num_rounds: -1 })
      },
      function*() {
        yield* Workflows.fedAvg({ num_rounds: 1 })
        throw new RangeError("boom")
      },
      function*(payload, minClients) {
        const rounds = yield* Effect.sync(() => payload.num_federation_rounds)
        return yield* fedAvg({ ...payload, num_federation_rounds: rounds }, minClients)
      },
      function*() {
        yield* Effect.fail("refused by an Effect")
        return {}
      },
      function*() {
        yield* Effect.die(new TypeError("defect"))
        return {}
      },
      // Not a `yield*`: what Effect.gen cannot run either (a module written in plain JavaScript can do this).
      function*() {
        yield 5 as unknown as YieldWrap<Effect.Effect<number>>
        return {}
      },
      function*() {
        return { "meta.json": { name: "x" } }
      }
    ]
    for (const body of bodies) {
      const [generatorForm, effectForm] = bothForms(body)
      const expected = answer(effectForm!, payload, map)
      assert.deepStrictEqual(answer(generatorForm!, payload, map), expected)
      assert.deepStrictEqual(
        Either.try(() => generatorForm!.template(payload, map)),
        Either.try(() => effectForm!.template(payload, map))
      )
    }
    // The third body yields an Effect: from there it runs in a fiber, and renders the job.
    const [yieldsAnEffect] = bothForms(bodies[2]!)
    assert.isFalse(Either.isEither(yieldsAnEffect!.templateEffect(payload, map)))
    assert.isTrue(Either.isRight(answer(yieldsAnEffect!, payload, map)))
  })
})
