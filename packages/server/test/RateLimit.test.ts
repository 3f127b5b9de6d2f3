import { describe, expect, it } from "@effect/vitest"
import { freshTenant } from "@workcat/pipeline/testing"
import { Effect } from "effect"
import { makeRateLimiter } from "../src/RateLimit.js"
import { type Answer, call, serverLayer, token } from "./support.js"

const a = freshTenant("rate")

describe("rate limiting", () => {
  it("allows a burst, then one request per refill interval", () => {
    let now = 0
    const take = makeRateLimiter({ perMinute: 60, now: () => now })
    expect(Array.from({ length: 6 }, () => take("t"))).toEqual([0, 0, 0, 0, 0, 0])
    expect(take("t")).toBe(1)
    now += 1_000
    expect(take("t")).toBe(0)
    expect(take("other")).toBe(0)
  })

  it("forgets the least recently seen keys beyond its bound", () => {
    let now = 0
    const take = makeRateLimiter({ perMinute: 60, maxKeys: 2, now: () => now })
    for (let i = 0; i < 6; i++) take("a")
    expect(take("a")).toBeGreaterThan(0)
    take("b")
    take("c") // evicts "a", which starts afresh
    expect(take("a")).toBe(0)
  })

  // 6 a minute: a burst of 5, then one every 10 s, so a slow machine cannot refill the bucket mid-test.
  it.layer(serverLayer([a], { WORKCAT_API_RATE_LIMIT: "6" }), { timeout: 60_000 })((it) => {
    it.effect("limits each token's request rate with 429 and Retry-After", () =>
      Effect.gen(function* () {
        const analyst = yield* token(a, "analyst")
        const other = yield* token(a, "analyst")
        const path = `/api/v1/tenants/${a}/metrics/productivity`
        const statuses: Array<number> = []
        let limited: Answer | undefined
        for (let i = 0; i < 8; i++) {
          const answer = yield* call("GET", path, { token: analyst })
          statuses.push(answer.status)
          if (answer.status === 429) limited = answer
        }
        expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200])
        expect(statuses.slice(5)).toEqual([429, 429, 429])
        expect(Number(limited!.headers["retry-after"])).toBeGreaterThanOrEqual(1)
        expect((yield* call("GET", path, { token: other })).status).toBe(200)
      }))
  })
})
