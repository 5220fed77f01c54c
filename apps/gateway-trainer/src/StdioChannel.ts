/**
 * The trainer's end of the stdio protocol: frames in on a readable (the process's stdin), frames out on a writable
 * (its stdout). Nothing else may ever be written to that writable; logs go to stderr.
 *
 * @since 0.1.0
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import type { Readable, Writable } from "node:stream"
import * as Protocol from "./Protocol.js"
import type { Channel } from "./Trainer.js"
import { TrainerFailure } from "./TrainerFailure.js"

const protocolFailure = (reason: string) => new TrainerFailure({ type: "ProtocolError", place: "channel", reason })

/**
 * Messages decoded from the bytes of `input`; a clean end of input (between frames) ends the stream.
 *
 * @since 0.1.0
 */
export const incoming = (input: () => Readable): Stream.Stream<Protocol.Message, TrainerFailure> =>
  Stream.suspend(() => {
    const decoder = Protocol.decoder()
    return NodeStream.fromReadable<TrainerFailure, Uint8Array>(
      input,
      () => protocolFailure("cannot read the channel from the bridge")
    ).pipe(
      Stream.mapChunksEffect((chunks) => {
        const messages: Array<Protocol.Message> = []
        for (const chunk of chunks) {
          const frames = decoder.push(chunk)
          if (Either.isLeft(frames)) return Either.left(protocolFailure(frames.left.reason))
          for (const frame of frames.right) {
            const message = Protocol.fromFrame(frame)
            if (Either.isLeft(message)) return Either.left(protocolFailure(message.left.reason))
            messages.push(message.right)
          }
        }
        return Either.right(Chunk.unsafeFromArray(messages))
      }),
      Stream.concat(
        Stream.suspend(() =>
          decoder.idle()
            ? Stream.empty
            : Stream.fail(protocolFailure("the bridge closed the channel in the middle of a frame"))
        )
      )
    )
  })

/**
 * Writes one message as a frame; completes once the writable has taken all of it (so backpressure holds).
 *
 * @since 0.1.0
 */
export const send = (output: Writable) => (message: Protocol.Message): Effect.Effect<void, TrainerFailure> =>
  Effect.async<void, TrainerFailure>((resume) => {
    const [head, payload] = Protocol.encodeFrame(Protocol.toFrame(message))
    output.write(head)
    output.write(
      payload,
      (error) =>
        resume(
          error === null || error === undefined
            ? Effect.void
            : Effect.fail(protocolFailure("cannot write to the bridge"))
        )
    )
  })

/**
 * @since 0.1.0
 */
export const make = (input: () => Readable, output: Writable): Channel => ({
  incoming: incoming(input),
  send: send(output)
})
