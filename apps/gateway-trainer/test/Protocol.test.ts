import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Protocol from "../src/Protocol.js"

const concat = (parts: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

const bytesOf = (frame: Protocol.Frame) => concat(Protocol.encodeFrame(frame))

/** Cuts bytes at arbitrary points, as a pipe may deliver them. */
const chunked = (bytes: Uint8Array, cuts: ReadonlyArray<number>) => {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  return [...points, bytes.length].map((end, i) => bytes.subarray(i === 0 ? 0 : points[i - 1]!, end))
}

const Json: FastCheck.Arbitrary<Record<string, unknown>> = FastCheck.dictionary(
  FastCheck.string(),
  FastCheck.oneof(FastCheck.string(), FastCheck.integer(), FastCheck.boolean(), FastCheck.constant(null))
)

const FrameArbitrary: FastCheck.Arbitrary<Protocol.Frame> = FastCheck.record({
  type: FastCheck.constantFrom(...Object.values(Protocol.MessageType)),
  round: FastCheck.integer({ min: 0, max: 2 ** 32 - 1 }),
  meta: Json,
  payload: FastCheck.float32Array({ maxLength: 300 }).map((values) => Float32Array.from(values))
})

const same = (a: Protocol.Frame, b: Protocol.Frame) => {
  assert.strictEqual(a.type, b.type)
  assert.strictEqual(a.round, b.round)
  assert.deepStrictEqual(a.meta, b.meta)
  // Bitwise, so NaN payloads and -0 count too.
  assert.deepStrictEqual(
    new Uint8Array(a.payload.buffer, a.payload.byteOffset, a.payload.byteLength),
    new Uint8Array(b.payload.buffer, b.payload.byteOffset, b.payload.byteLength)
  )
}

describe("Protocol frames", () => {
  it.prop(
    "decode(encode(frames)) gives the frames back, however the byte stream is chunked",
    [
      FastCheck.array(FrameArbitrary, { minLength: 1, maxLength: 5 }),
      FastCheck.array(FastCheck.nat(), { maxLength: 12 })
    ],
    ([frames, cuts]) => {
      const decoder = Protocol.decoder()
      const decoded = chunked(concat(frames.map(bytesOf)), cuts).flatMap((chunk) =>
        Either.getOrThrow(decoder.push(chunk))
      )
      assert.strictEqual(decoded.length, frames.length)
      decoded.forEach((frame, i) => same(frame, frames[i]!))
      assert.isTrue(decoder.idle())
    },
    { fastCheck: { numRuns: 200 } }
  )

  it.prop("places the payload 4-byte aligned and views it in place", [FrameArbitrary], ([frame]) => {
    const [decoded] = Either.getOrThrow(Protocol.decoder().push(bytesOf(frame)))
    assert.strictEqual(decoded!.payload.byteOffset % 4, 0)
    assert.strictEqual(decoded!.payload.buffer.byteLength, bytesOf(frame).length)
  })

  it("encodes the documented header, little-endian", () => {
    const payload = Float32Array.of(1.5, -2)
    const bytes = bytesOf({ type: Protocol.MessageType.Result, round: 258, meta: { a: 1 }, payload })
    const view = new DataView(bytes.buffer)
    assert.strictEqual(view.getUint32(0, true), bytes.length - 4)
    assert.strictEqual(String.fromCharCode(bytes[4]!, bytes[5]!), "FK")
    assert.strictEqual(bytes[6], Protocol.VERSION)
    assert.strictEqual(bytes[7], Protocol.MessageType.Result)
    assert.strictEqual(view.getUint32(8, true), 258)
    assert.strictEqual(view.getUint32(12, true), 7) // {"a":1}
    assert.strictEqual(view.getUint32(16, true), 2)
    assert.strictEqual(view.getFloat32(Protocol.HEADER_BYTES + 8, true), 1.5)
    assert.strictEqual(view.getFloat32(Protocol.HEADER_BYTES + 12, true), -2)
  })

  it("refuses malformed input, and stays failed afterwards", () => {
    const good = bytesOf({ type: Protocol.MessageType.Ping, round: 0, meta: {}, payload: Float32Array.of(1) })
    const corrupt = (f: (bytes: Uint8Array, view: DataView) => void) => {
      const bytes = Uint8Array.from(good)
      f(bytes, new DataView(bytes.buffer))
      return bytes
    }
    const cases: Array<[Uint8Array, string]> = [
      [corrupt((b) => (b[4] = 0x00)), "magic"],
      [corrupt((b) => (b[6] = 9)), "version 9"],
      [corrupt((b) => (b[7] = 42)), "unknown message type 42"],
      [corrupt((_, v) => v.setUint32(0, 999, true)), "frame length does not match"],
      [corrupt((_, v) => v.setUint32(16, Protocol.limits.floats + 1, true)), "over the limit"],
      [corrupt((_, v) => v.setUint32(12, Protocol.limits.metaBytes + 1, true)), "over the limit"],
      [corrupt((b) => b.set([0x5b, 0x5d], Protocol.HEADER_BYTES)), "not a JSON object"], // "{}" → "[]"
      [corrupt((b) => (b[Protocol.HEADER_BYTES] = 0xff)), "not UTF-8 JSON"]
    ]
    for (const [bytes, reason] of cases) {
      const decoder = Protocol.decoder()
      const result = decoder.push(bytes)
      assert.isTrue(Either.isLeft(result), reason)
      if (Either.isLeft(result)) assert.include(result.left.message, reason)
      assert.isTrue(Either.isLeft(decoder.push(good)), "a failed decoder stays failed")
    }
  })

  it("knows when the stream stopped in the middle of a frame", () => {
    const decoder = Protocol.decoder()
    const bytes = bytesOf({ type: Protocol.MessageType.Shutdown, round: 0, meta: {}, payload: new Float32Array(0) })
    assert.deepStrictEqual(Either.getOrThrow(decoder.push(bytes.subarray(0, 7))), [])
    assert.isFalse(decoder.idle())
    assert.strictEqual(Either.getOrThrow(decoder.push(bytes.subarray(7))).length, 1)
    assert.isTrue(decoder.idle())
  })
})

describe("Protocol messages", () => {
  const vector = Float32Array.of(0.25, -1, 3)
  const messages: ReadonlyArray<Protocol.Message> = [
    { _tag: "Ready", functionName: "f", datasets: 1, samples: 183 },
    {
      _tag: "Train",
      round: 3,
      settings: { optimizer: "sgd", learningRate: 0.1, localEpochs: 2, batchSize: 16 },
      vector
    },
    { _tag: "Result", round: 3, phase: "training", samples: 183, metrics: { global_loss: 0.2 }, vector },
    { _tag: "Ping", payload: vector },
    { _tag: "Pong", payload: vector },
    { _tag: "Shutdown" },
    { _tag: "Failed", failure: { type: "PolicyRefused", place: "preflight/policy", reason: "no" } }
  ]

  it("round-trip through frames", () => {
    for (const message of messages) {
      const [frame] = Either.getOrThrow(Protocol.decoder().push(bytesOf(Protocol.toFrame(message))))
      const decoded = Either.getOrThrow(Protocol.fromFrame(frame!))
      assert.deepStrictEqual(
        JSON.parse(JSON.stringify(decoded, (_, v) => (v instanceof Float32Array ? Array.from(v) : v))),
        JSON.parse(JSON.stringify(message, (_, v) => (v instanceof Float32Array ? Array.from(v) : v)))
      )
    }
  })

  it("refuses a Train frame whose settings are out of bounds or carry extra fields", () => {
    for (
      const meta of [
        { optimizer: "adam", learningRate: 5, localEpochs: 1, batchSize: 1 },
        { optimizer: "adam", learningRate: 0.1, localEpochs: 1, batchSize: 1, extra: true }
      ]
    ) {
      const result = Protocol.fromFrame({ type: Protocol.MessageType.Train, round: 1, meta, payload: vector })
      assert.isTrue(Either.isLeft(result) && result.left.message.includes("Train frame is invalid"))
    }
  })
})
