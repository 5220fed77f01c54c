/**
 * Reads the global model FLARE saved (`NPModelPersistor` → `models/server.npy`): a `.npy` file holding one 1-D
 * little-endian float32 array, which is all this reader accepts.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 */
export class NpyError
  extends Schema.TaggedError<NpyError>()("NpyError", { path: Schema.String, reason: Schema.String })
{
  override get message(): string {
    return `${this.path} is not a 1-D float32 .npy vector: ${this.reason}`
  }
}

const MAGIC = "\x93NUMPY"

/**
 * @since 0.1.0
 */
export const decode = (bytes: Uint8Array, path = "<bytes>"): Either.Either<Float32Array, NpyError> => {
  const fail = (reason: string) => Either.left(new NpyError({ path, reason }))
  if (bytes.length < 10 || String.fromCharCode(...bytes.subarray(0, 6)) !== MAGIC) return fail("no .npy magic")
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const major = bytes[6]
  if (major !== 1 && major !== 2 && major !== 3) return fail(`unknown format version ${major}`)
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true)
  const start = major === 1 ? 10 : 12
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLength))
  if (!/'descr':\s*'<f4'/.test(header)) return fail("the dtype is not little-endian float32 ('<f4')")
  if (!/'fortran_order':\s*False/.test(header)) return fail("the array is in Fortran order")
  const shape = /'shape':\s*\((\d+),\)/.exec(header)
  if (shape === null) return fail("the array is not one-dimensional")
  const count = Number(shape[1])
  const offset = start + headerLength
  if (bytes.length !== offset + count * 4) return fail("the data length does not match the shape")
  // Copied out: the file's bytes need not be 4-byte aligned, and may sit in a larger (pooled) buffer.
  const data = new Uint8Array(count * 4)
  data.set(bytes.subarray(offset))
  return Either.right(new Float32Array(data.buffer))
}

/**
 * @since 0.1.0
 */
export const read = (path: string): Effect.Effect<Float32Array, NpyError, FileSystem.FileSystem> =>
  Effect.flatMap(
    FileSystem.FileSystem,
    (fs) =>
      fs.readFile(path).pipe(
        Effect.mapError((error) =>
          new NpyError({
            path,
            reason: error._tag === "SystemError" && error.reason === "NotFound"
              ? "there is no such file; give the path of a saved global model (models/server.npy)"
              : `it cannot be read: ${error.message}`
          })
        ),
        Effect.flatMap((bytes) => decode(bytes, path))
      )
  )
