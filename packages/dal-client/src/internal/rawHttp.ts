/**
 * GET over plain-HTTP keep-alive connections whose reads land in one reused buffer per connection (`onread`), parsed
 * by ./responseParser.ts. This is the bulk download path: `node:http` allocates a buffer and a stream chunk per 64 KiB
 * read and runs them through its parser objects, which costs about twice curl's CPU per GiB; here a GiB costs one
 * copy into the disk writer's buffers.
 */
import * as Net from "node:net"
import * as BufferPool from "./bufferPool.js"
import * as Parser from "./responseParser.js"

/** One read's worth: large enough that a GiB is a few thousand reads, small enough to keep per connection. */
const readBufferBytes = 256 * 1024

/**
 * Idle connections are closed before servers usually close theirs (Node's default keep-alive timeout is 5 s), so a
 * request never goes out on a connection the server is closing.
 */
const idleMillis = 4_000

/** Why an exchange failed, as the `code` of the error handed out (the caller maps codes to user-facing reasons). */
export const codes = {
  headersTimeout: "FEDKIT_HEADERS_TIMEOUT",
  bodyTimeout: "FEDKIT_BODY_TIMEOUT",
  /** The connection ended before the response was complete. */
  cut: "FEDKIT_BODY_CUT",
  invalid: "FEDKIT_INVALID_RESPONSE"
} as const

/** An error carrying one of {@link codes} (or a Node error code). */
export const codedError = (code: string, message: string = code): Error => Object.assign(new Error(message), { code })

/** Receives body bytes once attached; see {@link Body}. */
export interface BodyConsumer {
  /** Bytes `buffer[start, end)`, valid only during the call. Answer false to pause the source until `resume`. */
  readonly onBody: (buffer: Uint8Array, start: number, end: number) => boolean
  /** The body ended: complete (`undefined`) or broken (the cause, with a `code`). */
  readonly onEnd: (cause: Error | undefined) => void
}

/** A response body that pushes bytes to one consumer, with backpressure. */
export interface Body {
  readonly attach: (consumer: BodyConsumer) => void
  readonly resume: () => void
  readonly destroy: () => void
}

export interface Response {
  readonly head: Parser.Head
  readonly body: Body
}

interface Connection {
  readonly socket: Net.Socket
  /** The connection's reused read buffer. */
  readonly buffer: Buffer
  /** Where this connection's reads go now; answers false to pause the socket. */
  onRead: (length: number) => boolean
  /** The socket failed or closed. */
  onGone: (cause: Error) => void
  /** The idle timer fired. */
  onIdle: () => void
  idleTimer: ReturnType<typeof setTimeout> | undefined
}

export interface Pool {
  /** Sends a GET; `done` gets the response once its head is in, or the error. Answers a function that aborts. */
  readonly get: (
    url: URL,
    headers: Readonly<Record<string, string>>,
    timeoutMillis: number,
    done: (result: Response | Error) => void
  ) => () => void
  readonly destroy: () => void
}

const unsafeHeaderValue = /[\r\n\0]/
const closedMessage = "the connection closed"

export const makePool = (): Pool => {
  const idle = new Map<string, Array<Connection>>()
  let destroyed = false

  const connect = (url: URL): Connection => {
    const buffer = Buffer.allocUnsafe(readBufferBytes)
    const connection: Connection = {
      socket: Net.connect({
        host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: Number(url.port || 80),
        noDelay: true,
        onread: { buffer, callback: (length: number) => connection.onRead(length) }
      }),
      buffer,
      onRead: () => true,
      onGone: () => {},
      onIdle: () => {},
      idleTimer: undefined
    }
    const gone = (cause: Error) => connection.onGone(cause)
    // one listener for the connection's life: exchanges on a reused connection swap `onIdle`
    connection.socket.on("timeout", () => connection.onIdle())
    connection.socket.on("error", gone)
    // one error object per connection, made when it ends: not on every request
    const closed = () => gone(codedError(codes.cut, closedMessage))
    connection.socket.on("end", closed)
    connection.socket.on("close", closed)
    return connection
  }

  const release = (origin: string, connection: Connection) => {
    const { socket } = connection
    if (destroyed || socket.destroyed) return void socket.destroy()
    const list = idle.get(origin) ?? []
    idle.set(origin, list)
    list.push(connection)
    const drop = () => {
      clearTimeout(connection.idleTimer)
      const at = list.indexOf(connection)
      if (at >= 0) list.splice(at, 1)
      socket.destroy()
    }
    // bytes nobody asked for mean the connection is out of step: never reuse it
    connection.onRead = () => {
      drop()
      return false
    }
    connection.onGone = drop
    // reading on while idle, so a close by the server is noticed (the last exchange may have left it paused)
    socket.resume()
    connection.idleTimer = setTimeout(drop, idleMillis)
    connection.idleTimer.unref()
  }

  const take = (origin: string): Connection | undefined => {
    const connection = idle.get(origin)?.pop()
    if (connection !== undefined) clearTimeout(connection.idleTimer)
    return connection
  }

  const get: Pool["get"] = (url, headers, timeoutMillis, done) => {
    const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`]
    for (const [name, value] of Object.entries(headers)) {
      if (unsafeHeaderValue.test(value)) {
        done(codedError("ERR_INVALID_CHAR", `invalid character in header ${name}`))
        return () => {}
      }
      lines.push(`${name}: ${value}`)
    }
    const request = `${lines.join("\r\n")}\r\n\r\n`
    const origin = url.origin
    let aborted = false
    let current: Connection | undefined

    const attempt = (reused: Connection | undefined) => {
      const connection = reused ?? connect(url)
      current = connection
      const { socket } = connection
      let head: Parser.Head | undefined
      let received = false
      let consumer: BodyConsumer | undefined
      /**
       * Body bytes that arrived with the head, before a consumer attached: copied once into a pooled buffer (the
       * socket is paused from the head on, so they are at most the rest of one read).
       */
      let early: { readonly buffer: Buffer; used: number } | undefined
      let paused = false
      /** Set once the exchange is over: undefined cause for a complete body. */
      let outcome: { readonly cause: Error | undefined } | undefined
      let reported = false

      const report = () => {
        if (outcome === undefined || consumer === undefined || reported || early !== undefined) return
        reported = true
        consumer.onEnd(outcome.cause)
      }
      const end = (cause: Error | undefined) => {
        if (outcome !== undefined) return
        outcome = { cause }
        socket.setTimeout(0)
        if (cause === undefined && head?.keepAlive === true && !aborted) release(origin, connection)
        else socket.destroy()
        report()
      }
      const deliverEarly = (): boolean => {
        if (early === undefined || consumer === undefined) return true
        const { buffer, used } = early
        early = undefined
        const goOn = consumer.onBody(buffer, 0, used)
        BufferPool.giveBack(buffer)
        return goOn
      }
      const proceed = () => {
        if (!deliverEarly()) return void (paused = true)
        paused = false
        if (outcome !== undefined || parser.done()) return parser.done() ? end(undefined) : report()
        socket.resume()
      }

      const parser = Parser.make({
        onHead: (parsed) => {
          head = parsed
          paused = true
          done({
            head: parsed,
            body: {
              attach: (attached) => {
                consumer = attached
                proceed()
              },
              resume: () => {
                if (paused) proceed()
              },
              destroy: () => {
                if (consumer === undefined && early !== undefined) {
                  BufferPool.giveBack(early.buffer)
                  early = undefined
                }
                if (outcome === undefined) end(codedError(codes.cut, "the body was abandoned"))
              }
            }
          })
        },
        onBody: (bytes, from, to) => {
          if (consumer === undefined || early !== undefined) {
            early ??= { buffer: BufferPool.take(), used: 0 }
            // cannot happen while reads are smaller than a pooled buffer and the socket pauses at the head
            if (early.used + to - from > early.buffer.length) return end(codedError(codes.invalid, "body overran"))
            early.buffer.set(bytes.subarray(from, to), early.used)
            early.used += to - from
          } else if (!consumer.onBody(bytes, from, to)) {
            paused = true
          }
        },
        onComplete: () => {}
      })

      connection.onRead = (length) => {
        received = true
        const fed = parser.feed(connection.buffer, 0, length)
        if (fed._tag === "Invalid") {
          const cause = codedError(codes.invalid, `invalid HTTP response: ${fed.reason}`)
          if (head === undefined) {
            abort()
            done(cause)
          } else end(cause)
          return false
        }
        if (fed._tag === "Complete") {
          if (fed.rest !== length) {
            end(codedError(codes.invalid, "bytes after the response"))
            return false
          }
          if (consumer === undefined || early !== undefined) return false
          end(undefined)
          // back in the pool, the connection reads on so that a close by the server is noticed
          return !socket.destroyed
        }
        return !paused
      }
      connection.onGone = (cause) => {
        if (outcome !== undefined || aborted) return
        if (head === undefined) {
          // a pooled connection the server had already closed: once more on a fresh one
          if (reused !== undefined && !received) {
            socket.destroy()
            return attempt(undefined)
          }
          abort()
          return done(cause)
        }
        if (parser.end()) return end(undefined)
        end(cause.message === closedMessage ? codedError(codes.cut, "the DAL closed the connection mid-body") : cause)
      }
      connection.onIdle = () => {
        if (head === undefined) {
          abort()
          return done(codedError(codes.headersTimeout))
        }
        // held back by the consumer (the disk): silence is not the DAL's fault; wait again once it catches up
        if (paused) return void socket.setTimeout(timeoutMillis)
        end(codedError(codes.bodyTimeout))
      }
      socket.setTimeout(timeoutMillis)
      socket.write(request)
    }

    const abort = () => {
      aborted = true
      current?.socket.destroy()
    }

    attempt(take(origin))
    return abort
  }

  return {
    get,
    destroy: () => {
      destroyed = true
      for (const list of idle.values()) for (const connection of list) connection.socket.destroy()
      idle.clear()
    }
  }
}
