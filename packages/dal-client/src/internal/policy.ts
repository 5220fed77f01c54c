/** Reading a dataset's asset policy (`GET policies/{key}`), bounded and decoded. */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { AssetPolicy } from "../AssetPolicy.js"
import { type DalError, DalIntegrityError, type Subject } from "../DalError.js"
import * as DalKey from "../DalKey.js"
import type { Exchange } from "./exchange.js"

const decodePolicy = Schema.decodeUnknownEither(Schema.parseJson(AssetPolicy))

// An asset policy is a few hundred bytes; anything near this is not one.
const maxPolicyBytes = 1024 * 1024

export const read = (
  exchange: Exchange,
  subject: Subject & { readonly key: DalKey.DalKey }
): Effect.Effect<AssetPolicy, DalError> =>
  Effect.gen(function*() {
    const body = yield* exchange.retrying(() =>
      Effect.flatMap(
        exchange.send(subject, {
          method: "GET",
          url: exchange.url(`policies/${DalKey.encode(subject.key)}`),
          headers: { accept: "application/json", "accept-encoding": "identity" }
        }),
        (response) => exchange.collect(subject, response, { bytes: maxPolicyBytes, what: "the asset policy" })
      ).pipe(Effect.scoped)
    )
    return yield* Either.mapLeft(decodePolicy(body.toString("utf8")), (e) =>
      new DalIntegrityError({
        ...subject,
        // the decoder quotes what it got, which a hostile DAL could fill with the token
        reason: `the policy is not a valid asset policy (${
          exchange.scrub.text(ParseResult.TreeFormatter.formatErrorSync(e).split("\n").join(" ")).slice(0, 200)
        })`
      }))
  })
