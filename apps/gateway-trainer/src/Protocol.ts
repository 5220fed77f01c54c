/**
 * The stdio protocol between FLARE's Python bridge (`fedkit_bridge.py`) and the Node trainer: length-prefixed binary
 * frames, little-endian throughout.
 *
 * ```
 * offset  size  field
 * 0       4     u32 frame length: bytes after this field (16 + padded meta length + 4 × float count)
 * 4       2     magic "FK"
 * 6       1     u8 protocol version (1)
 * 7       1     u8 message type
 * 8       4     u32 round (0 when the message has none)
 * 12      4     u32 meta length in bytes
 * 16      4     u32 float count
 * 20      m     meta: UTF-8 JSON object, zero-padded to a multiple of 4 bytes
 * 20+m'   4·n   payload: n float32 values
 * ```
 *
 * Because the header is 20 bytes and the meta is padded, the payload starts 4-byte aligned in a frame buffer, so both
 * sides view it in place (`Float32Array` here, `numpy.frombuffer` in the bridge) instead of copying it. JSON is only
 * for small metadata (settings, counts, metrics, failures).
 *
 * Messages: the trainer announces `Ready` (or `Failed`) once its preflight is done; then per round the bridge sends
 * `Train` with the global model and the trainer answers `Result`; `Ping`/`Pong` echo a payload (liveness and the
 * overhead benchmark); `Shutdown` asks the trainer to exit.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as LocalRound from "./LocalRound.js"

/**
 * @since 0.1.0
 */
export const VERSION = 1
/**
 * @since 0.1.0
 */
export const HEADER_BYTES = 20
const MAGIC = [0x46, 0x4b] as const

/**
 * Refused on decode: a frame that claims more is a broken or hostile peer.
 *
 * @since 0.1.0
 */
export const limits = {
  metaBytes: 1 << 20,
  floats: 1 << 28
} as const

/**
 * @since 0.1.0
 */
export const MessageType = {
  Ready: 1,
  Train: 2,
  Result: 3,
  Ping: 4,
  Pong: 5,
  Shutdown: 6,
  Failed: 7
} as const
/**
 * @since 0.1.0
 */
export type MessageType = typeof MessageType[keyof typeof MessageType]

const typeNames = new Map<number, keyof typeof MessageType>(
  Object.entries(MessageType).map(([name, code]) => [code, name as keyof typeof MessageType])
)

/**
 * A decoded frame: the header fields, the parsed meta object, and the payload viewed in place.
 *
 * @since 0.1.0
 */
export interface Frame {
  readonly type: MessageType
  readonly round: number
  readonly meta: Readonly<Record<string, unknown>>
  readonly payload: Float32Array
}

/**
 * @since 0.1.0
 */
export class ProtocolError extends Schema.TaggedError<ProtocolError>()("ProtocolError", { reason: Schema.String }) {
  override get message(): string {
    return `fedkit stdio protocol violated: ${this.reason}`
  }
}

const pad4 = (n: number): number => (n + 3) & ~3

// Float32Array and DataView-free header writes assume a little-endian host; the trainer checks this at start.
/**
 * @since 0.1.0
 */
export const hostIsLittleEndian: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/**
 * Encodes a frame as two byte arrays to write back to back: header + meta, and the payload viewed in place (no copy
 * of the floats).
 *
 * @since 0.1.0
 */
export const encodeFrame = (frame: Frame): readonly [Uint8Array, Uint8Array] => {
  const meta = new TextEncoder().encode(JSON.stringify(frame.meta))
  const metaPadded = pad4(meta.length)
  const head = new Uint8Array(HEADER_BYTES + metaPadded)
  const view = new DataView(head.buffer)
  view.setUint32(0, HEADER_BYTES - 4 + metaPadded + frame.payload.length * 4, true)
  head[4] = MAGIC[0]
  head[5] = MAGIC[1]
  head[6] = VERSION
  head[7] = frame.type
  view.setUint32(8, frame.round, true)
  view.setUint32(12, meta.length, true)
  view.setUint32(16, frame.payload.length, true)
  head.set(meta, HEADER_BYTES)
  return [head, new Uint8Array(frame.payload.buffer, frame.payload.byteOffset, frame.payload.byteLength)]
}

interface Header {
  readonly type: MessageType
  readonly round: number
  readonly metaLength: number
  readonly floatCount: number
  readonly total: number
}

const readHeader = (head: Uint8Array): Either.Either<Header, ProtocolError> => {
  const fail = (reason: string) => Either.left(new ProtocolError({ reason }))
  const view = new DataView(head.buffer, head.byteOffset, HEADER_BYTES)
  if (head[4] !== MAGIC[0] || head[5] !== MAGIC[1]) return fail("a frame does not start with the magic bytes FK")
  if (head[6] !== VERSION) return fail(`protocol version ${head[6]} is not ${VERSION}`)
  const type = head[7]!
  if (!typeNames.has(type)) return fail(`unknown message type ${type}`)
  const length = view.getUint32(0, true)
  const metaLength = view.getUint32(12, true)
  const floatCount = view.getUint32(16, true)
  if (metaLength > limits.metaBytes) return fail(`meta of ${metaLength} bytes is over the limit of ${limits.metaBytes}`)
  if (floatCount > limits.floats) return fail(`${floatCount} floats are over the limit of ${limits.floats}`)
  if (length !== HEADER_BYTES - 4 + pad4(metaLength) + floatCount * 4) {
    return fail("the frame length does not match its meta length and float count")
  }
  return Either.right({
    type: type as MessageType,
    round: view.getUint32(8, true),
    metaLength,
    floatCount,
    total: length + 4
  })
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

const readFrame = (header: Header, bytes: Uint8Array): Either.Either<Frame, ProtocolError> => {
  const parsed = Either.try({
    try: (): unknown => JSON.parse(utf8.decode(bytes.subarray(HEADER_BYTES, HEADER_BYTES + header.metaLength))),
    catch: () => new ProtocolError({ reason: "the meta of a frame is not UTF-8 JSON" })
  })
  if (Either.isLeft(parsed)) return Either.left(parsed.left)
  const meta = parsed.right
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) {
    return Either.left(new ProtocolError({ reason: "the meta of a frame is not a JSON object" }))
  }
  return Either.right({
    type: header.type,
    round: header.round,
    meta: meta as Record<string, unknown>,
    payload: new Float32Array(
      bytes.buffer,
      bytes.byteOffset + HEADER_BYTES + pad4(header.metaLength),
      header.floatCount
    )
  })
}

/**
 * Turns a byte stream, in chunks of any size, back into frames.
 *
 * @since 0.1.0
 */
export interface Decoder {
  /** The frames completed by this chunk; after a failure, every later push fails too. */
  readonly push: (chunk: Uint8Array) => Either.Either<ReadonlyArray<Frame>, ProtocolError>
  /** True between frames: an end of stream here is clean. */
  readonly idle: () => boolean
}

/**
 * @since 0.1.0
 */
export const decoder = (): Decoder => {
  const head = new Uint8Array(HEADER_BYTES)
  let headFilled = 0
  let current: { readonly header: Header; readonly bytes: Uint8Array; filled: number } | undefined
  let failure: ProtocolError | undefined
  const push = (chunk: Uint8Array): Either.Either<ReadonlyArray<Frame>, ProtocolError> => {
    if (failure !== undefined) return Either.left(failure)
    const frames: Array<Frame> = []
    let offset = 0
    while (offset < chunk.length) {
      if (current === undefined) {
        const n = Math.min(HEADER_BYTES - headFilled, chunk.length - offset)
        head.set(chunk.subarray(offset, offset + n), headFilled)
        headFilled += n
        offset += n
        if (headFilled < HEADER_BYTES) break
        const header = readHeader(head)
        if (Either.isLeft(header)) {
          failure = header.left
          return Either.left(failure)
        }
        // A fresh buffer per frame: its payload is 4-byte aligned, and the frame may be kept after the next push.
        current = { header: header.right, bytes: new Uint8Array(header.right.total), filled: HEADER_BYTES }
        current.bytes.set(head)
        headFilled = 0
      }
      const n = Math.min(current.bytes.length - current.filled, chunk.length - offset)
      current.bytes.set(chunk.subarray(offset, offset + n), current.filled)
      current.filled += n
      offset += n
      if (current.filled === current.bytes.length) {
        const frame = readFrame(current.header, current.bytes)
        current = undefined
        if (Either.isLeft(frame)) {
          failure = frame.left
          return Either.left(failure)
        }
        frames.push(frame.right)
      }
    }
    return Either.right(frames)
  }
  return { push, idle: () => current === undefined && headFilled === 0 }
}

// ---------------------------------------------------------------------------------------------------------------
// Messages: typed views of frames.

/**
 * A failure as it may be shown anywhere, including the orchestrator's log: no token, no data value.
 *
 * @since 0.1.0
 */
export const Failure = Schema.Struct({
  /** What kind of failure, e.g. `PolicyRefused`, `DalAuthError`, `DatasetInvalid`. */
  type: Schema.String,
  /** Where: a phase of the trainer, e.g. `preflight/policy`, `round 3`. */
  place: Schema.String,
  /** One sentence built from fixed text and identifiers only. */
  reason: Schema.String
}).annotations({ identifier: "Failure" })
/**
 * @since 0.1.0
 */
export type Failure = typeof Failure.Type

const ReadyMeta = Schema.Struct({
  functionName: Schema.String,
  datasets: Schema.Int.pipe(Schema.positive()),
  samples: Schema.Int.pipe(Schema.positive())
})

const ResultMeta = Schema.Struct({
  phase: Schema.Literal("statistics", "training"),
  samples: Schema.Int.pipe(Schema.positive()),
  metrics: Schema.Record({ key: Schema.String, value: Schema.Number })
})

/**
 * @since 0.1.0
 */
export type Message =
  | { readonly _tag: "Ready"; readonly functionName: string; readonly datasets: number; readonly samples: number }
  | {
    readonly _tag: "Train"
    readonly round: number
    readonly settings: LocalRound.Settings
    readonly vector: Float32Array
  }
  | {
    readonly _tag: "Result"
    readonly round: number
    readonly phase: "statistics" | "training"
    readonly samples: number
    readonly metrics: Readonly<Record<string, number>>
    readonly vector: Float32Array
  }
  | { readonly _tag: "Ping"; readonly payload: Float32Array }
  | { readonly _tag: "Pong"; readonly payload: Float32Array }
  | { readonly _tag: "Shutdown" }
  | { readonly _tag: "Failed"; readonly failure: Failure }

const none = new Float32Array(0)

/**
 * @since 0.1.0
 */
export const toFrame = (message: Message): Frame => {
  switch (message._tag) {
    case "Ready": {
      const { _tag, ...meta } = message
      return { type: MessageType.Ready, round: 0, meta, payload: none }
    }
    case "Train":
      return { type: MessageType.Train, round: message.round, meta: message.settings, payload: message.vector }
    case "Result":
      return {
        type: MessageType.Result,
        round: message.round,
        meta: { phase: message.phase, samples: message.samples, metrics: message.metrics },
        payload: message.vector
      }
    case "Ping":
      return { type: MessageType.Ping, round: 0, meta: {}, payload: message.payload }
    case "Pong":
      return { type: MessageType.Pong, round: 0, meta: {}, payload: message.payload }
    case "Shutdown":
      return { type: MessageType.Shutdown, round: 0, meta: {}, payload: none }
    case "Failed":
      return { type: MessageType.Failed, round: 0, meta: message.failure, payload: none }
  }
}

const decodeMeta = <A, I>(schema: Schema.Schema<A, I>, frame: Frame): Either.Either<A, ProtocolError> =>
  Either.mapLeft(
    Schema.decodeUnknownEither(schema, { onExcessProperty: "error" })(frame.meta),
    (error) =>
      new ProtocolError({
        reason: `the meta of a ${typeNames.get(frame.type)} frame is invalid: ${
          ParseResult.ArrayFormatter.formatErrorSync(error)
            .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
            .join("; ")
        }`
      })
  )

/**
 * @since 0.1.0
 */
export const fromFrame = (frame: Frame): Either.Either<Message, ProtocolError> => {
  switch (frame.type) {
    case MessageType.Ready:
      return Either.map(decodeMeta(ReadyMeta, frame), (meta) => ({ _tag: "Ready", ...meta }))
    case MessageType.Train:
      return Either.map(
        decodeMeta(LocalRound.Settings, frame),
        (settings) => ({ _tag: "Train", round: frame.round, settings, vector: frame.payload })
      )
    case MessageType.Result:
      return Either.map(
        decodeMeta(ResultMeta, frame),
        (meta) => ({ _tag: "Result", round: frame.round, ...meta, vector: frame.payload })
      )
    case MessageType.Ping:
      return Either.right({ _tag: "Ping", payload: frame.payload })
    case MessageType.Pong:
      return Either.right({ _tag: "Pong", payload: frame.payload })
    case MessageType.Shutdown:
      return Either.right({ _tag: "Shutdown" })
    case MessageType.Failed:
      return Either.map(decodeMeta(Failure, frame), (failure) => ({ _tag: "Failed", failure }))
  }
}
