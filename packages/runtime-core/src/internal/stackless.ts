// Rejections are answers to a user, not faults in code: their stack trace says nothing a reader can use, and a
// server refusing thousands of payloads a second would pay for capturing one on every refusal.

/** Runs `make` (an error's constructor) without capturing a stack trace. */
export const withoutStack = <A>(make: () => A): A => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return make()
  } finally {
    Error.stackTraceLimit = limit
  }
}
