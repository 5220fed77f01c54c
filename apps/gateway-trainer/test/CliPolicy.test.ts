import { describe, it } from "@effect/vitest"
import { policyChecks } from "@fedkit/cli-policy/testing"
import { fileURLToPath } from "node:url"

// The built bins (`pnpm test` builds first).
const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url))
const demo = fileURLToPath(new URL("../dist/demo.js", import.meta.url))

describe("gateway-trainer follows fedkit's CLI policy", () => {
  const checks = policyChecks({
    name: "gateway-trainer",
    bin,
    usageErrors: [
      { args: ["evaluate"], message: "missing argument <model.npy>" },
      { args: ["evaluate", "model.npy", "--jsn"], message: "unknown option --jsn (did you mean --json?)" },
      { args: ["evalute"], message: "unknown command 'evalute'; use one of evaluate" }
    ],
    // `evaluate` reads one small file: nothing runs long enough to interrupt (the demo's checks below do).
    longRunning: { doing: "evaluating", start: () => Promise.reject(new Error("evaluate is not long-running")) }
  })
  for (const check of checks.filter((check) => !check.name.startsWith("SIG"))) {
    it.skipIf(check.skip)(check.name, check.run)
  }
})

describe("the demo follows fedkit's CLI policy", () => {
  const checks = policyChecks({
    name: "demo",
    bin: demo,
    usageErrors: [
      { args: ["--target", "flare"], message: "--target: 'flare' is not one of simulator, poc" },
      {
        args: ["{\"optimizer_name\": \"adamw\"}"],
        message:
          "PAYLOAD_JSON: Invalid payload (1 problem): optimizer_name: Expected \"adam\" or \"sgd\", got \"adamw\"."
      },
      { args: ["{}", "extra"], message: "unexpected argument 'extra'" }
    ],
    longRunning: {
      doing: "serving the gateways' data, before FLARE runs",
      start: () =>
        Promise.resolve({
          args: [],
          ready: (running) => running.waitFor(({ stderr }) => stderr.includes("DAL on "), "starting its DAL")
        })
    }
  })
  for (const check of checks) it.skipIf(check.skip)(check.name, check.run, 120_000)
})
