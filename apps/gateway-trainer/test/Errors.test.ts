import { assert, describe, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import * as BreastCancer from "../src/BreastCancer.js"
import * as CsvShard from "../src/CsvShard.js"
import * as LocalRound from "../src/LocalRound.js"
import * as NpyVector from "../src/NpyVector.js"
import * as Protocol from "../src/Protocol.js"
import * as RuntimeRender from "../src/RuntimeRender.js"
import * as Split from "../src/Split.js"
import { TrainerFailure } from "../src/TrainerFailure.js"

/** An error's facts survive encoding (errors cross processes), and its message is one line. */
const check = <A extends { readonly _tag: string; readonly message: string }, I>(
  schema: Schema.Schema<A, I>,
  error: A
) => {
  assert.deepStrictEqual(Schema.decodeUnknownSync(schema)(Schema.encodeSync(schema)(error)), error, error._tag)
  assert.notInclude(error.message, "\n", error._tag)
}

const renderFailed = new RuntimeRender.RenderFailed({
  exitCode: 3,
  stderr: "optimizer_name: Expected \"adam\"\nlearning_rate: Expected > 0\n"
})

describe("the app's errors", () => {
  it("are Schema.TaggedErrors whose facts survive encoding, each with a one-line message", () => {
    check(Split.SplitError, new Split.SplitError({ reason: "a gateway's share is negative" }))
    check(BreastCancer.FixtureError, new BreastCancer.FixtureError({ path: "/data/bcw.csv", reason: "no such file" }))
    check(CsvShard.CsvProblem, new CsvShard.CsvProblem({ line: 7, problem: "target is not 0 or 1" }))
    check(LocalRound.VectorMismatch, new LocalRound.VectorMismatch({ length: 3 }))
    check(NpyVector.NpyError, new NpyVector.NpyError({ path: "server.npy", reason: "no .npy magic" }))
    check(Protocol.ProtocolError, new Protocol.ProtocolError({ reason: "unknown message type 9" }))
    check(RuntimeRender.RenderFailed, renderFailed)
    check(
      TrainerFailure,
      new TrainerFailure({ type: "PolicyRefused", place: "preflight/policy", reason: "restricted" })
    )
  })

  it("a failed render says what secure-runtime said, problem by problem, on one line", () => {
    assert.strictEqual(
      renderFailed.message,
      "secure-runtime render exited with 3: optimizer_name: Expected \"adam\"; learning_rate: Expected > 0"
    )
  })
})
