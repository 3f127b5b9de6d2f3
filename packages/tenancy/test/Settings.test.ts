import { describe, expect, it } from "@effect/vitest"
import { DefaultTaxonomy, formatParseError } from "@workcat/core"
import { Either, Schema } from "effect"
import { changedSettings, defaultNightly, defaultSettings, patchSettings, SettingsPatch, TenantSettings } from "../src/TenantSettings.js"

const defaults = defaultSettings("Northwind", DefaultTaxonomy)

/** Why `patch` is refused, as the API and the CLI say it; undefined when it is accepted. */
const refusal = (patch: unknown) => {
  const decoded = Schema.decodeUnknownEither(SettingsPatch, { errors: "all" })(patch)
  return Either.isLeft(decoded) ? formatParseError(decoded.left) : undefined
}

describe("tenant settings", () => {
  it("stored before the nightly's windows and the ledger retention were settings, they read as today's values", () => {
    const stored = Schema.encodeSync(TenantSettings)(defaults) as Record<string, unknown>
    const { ledgerRetentionDays: _l, nightly: _n, ...old } = stored
    const read = Schema.decodeUnknownSync(TenantSettings)(old)
    expect(read.ledgerRetentionDays).toBe(90)
    expect(read.nightly).toEqual({
      profileWindowDays: 90,
      recentWindowDays: 14,
      newHireDays: 7,
      periodicDays: 60,
      neighbours: 20,
      anomalyMinAccesses: 30,
      anomalyMinDays: 3,
      metricsWindowDays: 28
    })
    // A nightly group stored by a build that knew fewer of its fields: the others read as defaults.
    expect(Schema.decodeUnknownSync(TenantSettings)({ ...old, nightly: { profileWindowDays: 60 } }).nightly).toEqual({ ...defaultNightly, profileWindowDays: 60 })
  })

  it("refuses a window or threshold out of its range, naming the field and saying why", () => {
    expect(refusal({ nightly: { profileWindowDays: 400 } })).toBe(
      "nightly.profileWindowDays: must be a whole number from 7 to 365: a week says too little of someone's work, and over a year mixes in work they no longer do"
    )
    expect(refusal({ nightly: { periodicDays: 7.5 } })).toMatch(/^nightly\.periodicDays: must be a whole number from 7 to 365: /)
    expect(refusal({ nightly: { newHireDays: -1 } })).toMatch(/^nightly\.newHireDays: must be a whole number from 0 to 60: 0 turns the new-hire trigger off/)
    expect(refusal({ nightly: { neighbours: 0 } })).toMatch(/^nightly\.neighbours: must be a whole number from 1 to 100: /)
    expect(refusal({ nightly: { metricsWindowDays: 30 } })).toMatch(/^nightly\.metricsWindowDays: must be a multiple of 7 from 7 to 364: .*weekends/)
    expect(refusal({ ledgerRetentionDays: 3 })).toMatch(/^ledgerRetentionDays: must be a whole number from 7 to 3650: /)
    expect(refusal({ nightly: { anomalyMinAccesses: "30" } })).toMatch(/^nightly\.anomalyMinAccesses: must be a whole number from 1 to 10000: /)
    expect(refusal({ nightly: { profileWindowDays: 30, newHireDays: 0, periodicDays: 365 }, ledgerRetentionDays: 3650 })).toBeUndefined()
  })

  it("refuses a recent window no shorter than the profile window, given together or against the stored one", () => {
    expect(refusal({ nightly: { profileWindowDays: 30, recentWindowDays: 30 } })).toBe(
      "nightly.recentWindowDays: must be shorter than the profile window: the rest of it is the baseline the recent app mix is compared with"
    )
    expect(refusal({ nightly: { recentWindowDays: 10, anomalyMinDays: 11 } })).toMatch(/^nightly\.anomalyMinDays: must not exceed the recent window/)
    // On its own the patch is fine; with the stored profile window of 30 days it is not.
    const stored = { ...defaults, nightly: { ...defaultNightly, profileWindowDays: 30 } }
    const patch = Schema.decodeUnknownSync(SettingsPatch)({ nightly: { recentWindowDays: 30, metricsWindowDays: 35 } })
    const patched = patchSettings(stored, patch)
    expect(Either.isLeft(patched) && formatParseError(patched.left)).toBe(
      "nightly.recentWindowDays: must be shorter than the profile window: the rest of it is the baseline the recent app mix is compared with; " +
        "nightly.metricsWindowDays: must not exceed the profile window: new events mark stale only the nights whose profile window holds them"
    )
    // A patch of some nightly fields keeps the others as stored.
    const shorter = patchSettings(stored, Schema.decodeUnknownSync(SettingsPatch)({ nightly: { recentWindowDays: 7 } }))
    expect(Either.getOrThrow(shorter).nightly).toEqual({ ...defaultNightly, profileWindowDays: 30, recentWindowDays: 7 })
    expect(changedSettings(Schema.decodeUnknownSync(SettingsPatch)({ nightly: { recentWindowDays: 7 }, ledgerRetentionDays: 30, llm: {} }))).toEqual([
      "ledgerRetentionDays",
      "nightly.recentWindowDays"
    ])
  })
})
