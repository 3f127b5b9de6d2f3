import { describe, expect, it } from "@effect/vitest"
import { addDays, type CategoryId, type HrEvent, type IsoDate, isoDate, periodicSlot, type UserId } from "@workcat/core"
import { defaultNightly, TenantRegistry } from "@workcat/tenancy"
import { Effect, Layer } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PipelineLive } from "../src/app/Layers.js"
import { HrIngest } from "../src/ingest/HrIngest.js"
import { Ingest } from "../src/ingest/Ingest.js"
import { fileValues } from "../src/ingest/Framing.js"
import { Metrics } from "../src/materialize/Metrics.js"
import { runNightly } from "../src/nightly/RunNightly.js"
import { nightlyKeysAffected } from "../src/nightly/Window.js"
import { generate } from "../src/synthetic/Generate.js"
import { type CandidateFacts, selectCandidates, type TriggerSettings } from "../src/triggers/TriggerSelection.js"
import { freshTenant, provision, TestRuntime } from "./support/TestLayers.js"

const date = "2026-11-23" as IsoDate
const user = (hex: string) => `u_${hex.padEnd(32, "0")}` as UserId

const hire = (userId: UserId, effectiveDate: IsoDate): HrEvent => ({
  eventId: `hire:${userId}`,
  userId,
  type: "hire",
  effectiveDate,
  title: "Engineer",
  department: "Engineering",
  team: "Core",
  managerId: null,
  employeeRef: null
})

/** Tonight's facts of categorized, active users with a hire date: by default nobody is due. */
const facts = (users: ReadonlyArray<{ userId: UserId; hireDate?: IsoDate; categorizedDaysAgo: number }>): ReadonlyArray<CandidateFacts> =>
  users.map((u) => ({
    candidate: { userId: u.userId, active: true, drift: null },
    hrEvents: [hire(u.userId, u.hireDate ?? ("2020-01-06" as IsoDate))],
    label: { category: "engineer" as CategoryId, categorizedAt: new Date(`${addDays(date, -u.categorizedDaysAgo)}T02:00:00Z`), inputsHash: null }
  }))

const selected = (users: ReadonlyArray<CandidateFacts>, triggers: TriggerSettings = defaultNightly) =>
  selectCandidates({ date, anomalyThreshold: 0.3, triggers }, users).selected.map((s) => [s.userId, s.reasons])

describe("the nightly's trigger settings", () => {
  // 2026-11-23 is day 20780: slot 20 of 60, slot 0 of 20. 0x...f1 is slot 1 of 60 and of 20: not due on either.
  const notDue = user("000000f1")

  it("a shorter new-hire window stops recategorizing a hire every night sooner", () => {
    const hired = facts([{ userId: notDue, hireDate: addDays(date, -5), categorizedDaysAgo: 1 }])
    expect(selected(hired)).toEqual([[notDue, ["new_hire"]]])
    expect(selected(hired, { ...defaultNightly, newHireDays: 3 })).toEqual([])
    expect(selected(hired, { ...defaultNightly, newHireDays: 0 })).toEqual([])
  })

  it("a shorter periodic slice refreshes everyone sooner: on their night of the period, or once overdue", () => {
    const slotOf = (userId: UserId) => [periodicSlot(userId), periodicSlot(userId, 20)]
    const tonight = user("00000014") // 20: tonight's slot of 60 and of 20
    const tonightOfTwenty = user("00000028") // 40: slot 40 of 60, tonight's (0) of 20
    const other = user("00000005") // slot 5 of both
    expect([slotOf(notDue), slotOf(tonight), slotOf(tonightOfTwenty), slotOf(other)]).toEqual([[1, 1], [20, 0], [40, 0], [5, 5]])
    const users = facts([
      { userId: notDue, categorizedDaysAgo: 30 },
      { userId: tonight, categorizedDaysAgo: 10 },
      { userId: tonightOfTwenty, categorizedDaysAgo: 5 },
      { userId: other, categorizedDaysAgo: 10 }
    ])
    expect(selected(users)).toEqual([[tonight, ["periodic"]]])
    // Every 20 days: tonight is another slice's night, and 30 days since the last categorization is overdue.
    expect(selected(users, { ...defaultNightly, periodicDays: 20 })).toEqual([
      [notDue, ["periodic"]],
      [tonight, ["periodic"]],
      [tonightOfTwenty, ["periodic"]]
    ])
  })

  it("new events make stale the nights whose profile window holds them, as long as that window is", () => {
    expect(nightlyKeysAffected("2026-11-01", "2026-11-02")).toEqual({ after: "2026-11-01", upTo: "2027-01-31" })
    expect(nightlyKeysAffected("2026-11-01", "2026-11-02", 14)).toEqual({ after: "2026-11-01", upTo: "2026-11-16" })
  })
})

describe("the nightly with a tenant's own windows", () => {
  const usual = freshTenant("nset")
  const short = freshTenant("nset")
  // Events end 10 days before the run date: within 90 days, but not within 7.
  const run = addDays(isoDate(new Date()), -1)
  const end = addDays(run, -10)

  it.effect(
    "a shorter profile window finds nobody with activity in it on the same data; metrics cover the tenant's own window",
    () =>
      Effect.gen(function* () {
        const files = yield* generate({ tenant: usual, employees: 40, days: 30, seed: "nset", end, out: mkdtempSync(join(tmpdir(), "workcat-nset-")) })
        const load = Effect.gen(function* () {
          yield* Effect.flatMap(HrIngest, (h) => h.records(fileValues(files.hr), { source: files.hr }))
          yield* Effect.flatMap(Ingest, (i) => i.events("okta", fileValues(files.events), { source: files.events }))
        })
        yield* Effect.provide(load, PipelineLive(usual))
        yield* Effect.provide(load, PipelineLive(short))
        const registry = yield* TenantRegistry
        yield* registry.update(short, { nightly: { profileWindowDays: 7, recentWindowDays: 3, metricsWindowDays: 7 } })
        // The usual windows but for the metrics', which do not change who is selected.
        yield* registry.update(usual, { nightly: { metricsWindowDays: 14 } })

        const a = (yield* runNightly(usual, run)).summary!
        const b = (yield* runNightly(short, run)).summary!
        expect(a.selected).toBeGreaterThan(30)
        expect(a.byReason.uncategorized).toBe(a.selected)
        expect(b).toMatchObject({ selected: 0, categorized: 0 })
        expect(b.deferred).toBeGreaterThanOrEqual(a.selected)

        const windowOf = (tenant: typeof usual) =>
          Effect.flatMap(Metrics, (m) => m.snapshot("department", { privacy: { minGroupSize: 1, smallGroupPolicy: "suppress" } })).pipe(
            Effect.map((s) => s.windowDays),
            Effect.provide(PipelineLive(tenant))
          )
        expect(yield* windowOf(usual)).toBe(14)
      }).pipe(Effect.provide(Layer.provideMerge(provision(usual, short), TestRuntime))),
    120_000
  )
})
