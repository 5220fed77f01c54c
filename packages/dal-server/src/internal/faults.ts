import * as Effect from "effect/Effect"

export type Fault =
  | { readonly _tag: "Status"; readonly status: number; readonly retryAfter?: string }
  | { readonly _tag: "ResetMidBody"; readonly afterBytes: number }
  | { readonly _tag: "TruncateBody"; readonly afterBytes: number }
  | { readonly _tag: "StallHeaders"; readonly millis: number }
  | { readonly _tag: "StallBody"; readonly afterBytes: number; readonly millis: number }

export type HeaderFault = Extract<Fault, { readonly _tag: "Status" | "StallHeaders" }>
export type BodyFault = Exclude<Fault, HeaderFault>

export interface FaultRule {
  readonly method?: "GET" | "HEAD" | "PUT"
  readonly endpoint?: "datasets" | "policies" | "dataset"
  readonly key?: string | RegExp
  readonly times?: number
  readonly fault: Fault
}

export interface FaultRequest {
  readonly method: string
  readonly endpoint: "datasets" | "policies" | "dataset"
  readonly key: string
}

const isHeaderFault = (fault: Fault): fault is HeaderFault => fault._tag === "Status" || fault._tag === "StallHeaders"

const matches = (rule: FaultRule, request: FaultRequest): boolean =>
  (rule.method === undefined || rule.method === request.method) &&
  (rule.endpoint === undefined || rule.endpoint === request.endpoint) &&
  (rule.key === undefined ||
    (typeof rule.key === "string" ? request.key.startsWith(rule.key) : new RegExp(rule.key).test(request.key)))

/**
 * Rules are tried in order. A rule fires at most `times` times (default 1), and only in its phase: status and
 * header stalls before anything is sent, body faults only when a body is actually sent, so e.g. a 404 never uses up
 * a reset meant for a download.
 */
export const makeFaults = (rules: ReadonlyArray<FaultRule>) => {
  const remaining = rules.map((rule) => rule.times ?? 1)
  const take = <F extends Fault>(request: FaultRequest, phase: (fault: Fault) => fault is F) =>
    Effect.sync((): F | undefined => {
      for (let i = 0; i < rules.length; i++) {
        const rule = rules[i]!
        if ((remaining[i] ?? 0) > 0 && phase(rule.fault) && matches(rule, request)) {
          remaining[i] = (remaining[i] ?? 0) - 1
          return rule.fault
        }
      }
      return undefined
    })
  return {
    headerFault: (request: FaultRequest) => take(request, isHeaderFault),
    bodyFault: (request: FaultRequest) => take(request, (fault): fault is BodyFault => !isHeaderFault(fault))
  }
}

export type Faults = ReturnType<typeof makeFaults>
