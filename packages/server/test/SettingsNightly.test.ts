import { describe, expect, it } from "@effect/vitest"
import { freshTenant } from "@workcat/pipeline/testing"
import { Effect } from "effect"
import { call, serverLayer, token } from "./support.js"

const tenant = freshTenant("nightset")

describe("the nightly's settings over the API", () => {
  it.layer(serverLayer([tenant]), { timeout: 120_000 })((it) => {
    it.effect("are read with their defaults, changed field by field, and refused with 400 naming the field, also against a stored setting", () =>
      Effect.gen(function* () {
        const admin = yield* token(tenant, "admin")
        const path = `/api/v1/tenants/${tenant}/settings`
        const initial = (yield* call("GET", path, { token: admin })).body
        expect(initial).toMatchObject({ ledgerRetentionDays: 90, nightly: { profileWindowDays: 90, recentWindowDays: 14, periodicDays: 60 } })

        const changed = yield* call("PATCH", path, { token: admin, json: { nightly: { profileWindowDays: 30 }, ledgerRetentionDays: 30 } })
        expect(changed.status).toBe(200)
        expect(changed.body).toMatchObject({ ledgerRetentionDays: 30, nightly: { ...initial.nightly, profileWindowDays: 30 } })

        const outOfRange = yield* call("PATCH", path, { token: admin, json: { nightly: { periodicDays: 1000 } } })
        expect([outOfRange.status, outOfRange.body?._tag]).toEqual([400, "HttpApiDecodeError"])
        expect(outOfRange.body.message).toMatch(/^nightly\.periodicDays: must be a whole number from 7 to 365: /)

        // Valid alone, but not with the profile window of 30 days now stored: a 400, not a crash.
        const conflicting = yield* call("PATCH", path, { token: admin, json: { nightly: { recentWindowDays: 30 } } })
        expect(conflicting.status).toBe(400)
        expect(conflicting.body).toEqual({
          _tag: "BadRequest",
          message: "nightly.recentWindowDays: must be shorter than the profile window: the rest of it is the baseline the recent app mix is compared with"
        })
        expect((yield* call("GET", path, { token: admin })).body).toEqual(changed.body)
      }))
  })
})
