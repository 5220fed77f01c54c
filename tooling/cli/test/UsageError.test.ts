import { Args, Command, Options } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { CliMain, UsageError } from "../src/index.js"

const get = Command.make("get", {
  key: Args.text({ name: "key" }),
  dest: Args.text({ name: "dest" }),
  json: Options.boolean("json"),
  retries: Options.integer("retries").pipe(Options.optional),
  mode: Options.choice("mode", ["fast", "safe"]).pipe(Options.withDefault("safe" as const))
})
const serve = Command.make("serve", { root: Options.text("root"), port: Options.integer("port") })
const tool = Command.make("tool").pipe(Command.withSubcommands([get, serve]))

// @effect/cli prints its own version of the error on the Console: silenced here, as the policy does.
const silently = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Console.consoleWith((current) =>
    Effect.withConsole(effect, { ...current, error: () => Effect.void, log: () => Effect.void })
  )

/** What the policy says about `tool ...args`. */
const described = (...args: ReadonlyArray<string>) =>
  Command.run(tool, { name: "tool", version: "1" })(["node", "tool", ...args]).pipe(
    Effect.flip,
    Effect.map((error) => UsageError.describe(tool, args, error as never)),
    silently,
    Effect.provide(NodeContext.layer)
  )

describe("UsageError.describe", () => {
  it.effect("names an unknown option wherever it is, with the option it probably meant", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* described("get", "--jsn", "k", "/d"), "unknown option --jsn (did you mean --json?)")
      assert.strictEqual(yield* described("get", "k", "/d", "--bogus"), "unknown option --bogus")
      assert.strictEqual(yield* described("serve", "--bogus", "--root", "."), "unknown option --bogus")
      // An option of another subcommand is unknown here.
      assert.strictEqual(yield* described("get", "k", "/d", "--port", "1"), "unknown option --port")
    }))

  it.effect("names what is missing, and the option a bad value was given to", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* described("serve"), "missing required options --root, --port")
      assert.strictEqual(yield* described("get", "k"), "missing argument <dest>")
      assert.strictEqual(
        yield* described("get", "k", "/d", "--retries", "many"),
        "--retries: 'many' is not an integer"
      )
      assert.strictEqual(
        yield* described("get", "k", "/d", "--mode", "quick"),
        "--mode: 'quick' is not one of fast, safe"
      )
      assert.strictEqual(yield* described("get", "k", "/d", "x"), "unexpected argument 'x'")
      assert.strictEqual(yield* described("got"), "unknown command 'got'; use one of get, serve")
    }))
})

describe("CliMain.colourAllowed", () => {
  it("allows colour on a terminal only, and never with NO_COLOR set (unless empty)", () => {
    assert.isTrue(CliMain.colourAllowed({ isTTY: true }, {}))
    assert.isTrue(CliMain.colourAllowed({ isTTY: true }, { NO_COLOR: "" }))
    assert.isFalse(CliMain.colourAllowed({ isTTY: true }, { NO_COLOR: "1" }))
    assert.isFalse(CliMain.colourAllowed({ isTTY: false }, {}))
    assert.isFalse(CliMain.colourAllowed({}, {}))
  })
})
