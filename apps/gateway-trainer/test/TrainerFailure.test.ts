import { assert, describe, it } from "@effect/vitest"
import { DalError } from "@fedkit/dal-client"
import * as TrainerFailure from "../src/TrainerFailure.js"

describe("TrainerFailure", () => {
  it("reports a defect by class and place, never by its message", () => {
    const failure = TrainerFailure.fromDefect(new TypeError("cannot use 17.99 of patient 4711"), "round 3")
    assert.strictEqual(failure.type, "TypeError")
    assert.strictEqual(failure.place, "round 3")
    assert.match(failure.reason, /^unexpected error thrown at TrainerFailure\.test\.ts:\d+/)
    assert.notInclude(failure.message, "4711")
    assert.notInclude(failure.message, "17.99")
    assert.strictEqual(TrainerFailure.fromDefect("a thrown string with data 42", "x").reason.includes("42"), false)
  })

  it("keeps the DAL error's facts but drops the text a server or a setting supplied", () => {
    const config = TrainerFailure.fromDalError(
      new DalError.DalConfigError({
        problems: [{ variable: "APH_DATA", reason: "is not JSON: {\"ds\": \"s3://secret-bucket\"" }, {
          variable: "APH_DAL_TOKEN",
          reason: "is empty"
        }]
      }),
      "preflight/settings"
    )
    assert.strictEqual(
      config.reason,
      "the DAL settings are missing or invalid: APH_DATA, APH_DAL_TOKEN; check the gateway's APH_* environment"
    )
    const status = TrainerFailure.fromDalError(
      new DalError.DalStatusError({
        operation: "download",
        datasetId: "ds-1",
        key: "s3://b/ds-1/rows.csv",
        status: 500,
        attempts: 3,
        detail: "stack trace with row 17.99,10.38"
      }),
      "preflight/download"
    )
    assert.strictEqual(
      status.message,
      "DalStatusError at preflight/download: the DAL answered HTTP 500 for \"ds-1\" after 3 attempts"
    )
  })

  it("echoes identifiers only when they look like identifiers", () => {
    assert.strictEqual(
      TrainerFailure.identifier("breast-cancer_gateway-1_org-1", "a dataset"),
      "\"breast-cancer_gateway-1_org-1\""
    )
    for (const hostile of ["line\nbreak", "\u202eevil", "a\"quote", "", "x".repeat(300)]) {
      assert.strictEqual(TrainerFailure.identifier(hostile, "a dataset"), "a dataset")
    }
  })
})
