// Runs verdaccio (the workspace's pinned devDependency) with the given config on a free loopback port and prints its
// URL as the first line of stdout. Started and stopped (SIGTERM, or its stdin closing) by registry.mjs.
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

const require = createRequire(fileURLToPath(new URL("../../package.json", import.meta.url)))
const { runServer } = require("verdaccio")

const server = await runServer(process.argv[2])
server.listen(0, "127.0.0.1", () => process.stdout.write(`http://127.0.0.1:${server.address().port}/\n`))
const stop = () => {
  server.close(() => process.exit(0))
  server.closeAllConnections?.()
}
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
// The test holds our stdin open: if it dies without stopping us, the pipe closes and we stop too.
process.stdin.on("close", stop)
process.stdin.resume()
