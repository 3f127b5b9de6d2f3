import { describe, expect, it } from "@effect/vitest"
import {
  addDays,
  CategorizationResult,
  type CategoryId,
  groupMetrics,
  type IsoDate,
  type UserId,
  userWaste
} from "@workcat/core"
import { defaultNightly } from "@workcat/tenancy"
import { Effect, Layer } from "effect"
import { PipelineLive } from "../src/app/Layers.js"
import { CategoryStore } from "../src/materialize/CategoryStore.js"
import { Employees } from "../src/warehouse/Employees.js"
import { EventWarehouse, type NightQuery } from "../src/warehouse/EventWarehouse.js"
import { accessesBefore, range } from "./support/Accesses.js"
import { freshTenant, provision, TestRuntime } from "./support/TestLayers.js"

// 2026-11-23 is day 20780: slot 20 of 60, slot 0 of 20.
const date = "2026-11-23" as IsoDate
const user = (hex: string) => `u_${hex.padEnd(32, "0")}` as UserId
const night: NightQuery = { ...defaultNightly, date, anomalyThreshold: 0.3 }

const uses = accessesBefore(date, "e")

/** Labels users as categorized `daysAgo` days before the run date. */
const label = (users: ReadonlyArray<UserId>, daysAgo: number, category = "software_engineer") =>
  Effect.flatMap(CategoryStore, (c) =>
    c.upsert(
      users.map((userId) => ({
        result: CategorizationResult.make({
          userId,
          category: category as CategoryId,
          confidence: 0.9,
          explanation: "test",
          recommendations: [],
          evidenceApps: [],
          alternatives: [],
          categorizer: "offline"
        }),
        reasons: ["uncategorized"],
        inputsHash: "h"
      })),
      "00000000-0000-4000-8000-000000000000",
      new Date(`${addDays(date, -daysAgo)}T02:00:00Z`)
    )
  )

const candidates = (q: NightQuery) =>
  Effect.flatMap(EventWarehouse, (w) => w.candidates(q)).pipe(Effect.map((cs) => new Map(cs.map((c) => [c.userId, c]))))

describe("the night's queries in the warehouse", () => {
  it.effect("measures the drift of a user with little recent activity only under lower anomaly minimums", () => {
    const tenant = freshTenant("nq")
    const drifter = user("000000f1") // slot 1: not tonight's
    return Effect.gen(function* () {
      // Weeks of GitHub, then two days of Salesforce only, 12 accesses: too little to say anything by default.
      yield* Effect.flatMap(EventWarehouse, (w) => w.append([...uses(drifter, "github", range(20, 60), 5), ...uses(drifter, "salesforce", [2, 3], 6)]))
      yield* label([drifter], 20)
      expect((yield* candidates(night)).has(drifter)).toBe(false)
      const lower = yield* candidates({ ...night, anomalyMinAccesses: 10, anomalyMinDays: 2 })
      expect(lower.get(drifter)).toMatchObject({ active: true })
      expect(lower.get(drifter)?.drift).toBeCloseTo(1, 9)
    }).pipe(Effect.provide(PipelineLive(tenant)), Effect.provide(Layer.provideMerge(provision(tenant), TestRuntime)))
  })

  it.effect("chooses the periodic slice by the pseudonym's slot and the overdue, with or without activity", () => {
    const tenant = freshTenant("nq")
    const [notDue, tonight, tonightOfTwenty, other] = ["000000f1", "00000014", "00000028", "00000005"].map(user) as [UserId, UserId, UserId, UserId]
    return Effect.gen(function* () {
      yield* Effect.flatMap(EventWarehouse, (w) => w.append(uses(tonight, "github", [1])))
      yield* label([notDue], 30)
      yield* label([tonight, other], 10)
      yield* label([tonightOfTwenty], 5)
      const sixty = yield* candidates(night)
      expect([...sixty.keys()]).toEqual([tonight])
      expect(sixty.get(tonight)).toEqual({ userId: tonight, active: true, drift: null })
      expect([...(yield* candidates({ ...night, periodicDays: 20 })).keys()].sort()).toEqual([notDue, tonight, tonightOfTwenty].sort())
    }).pipe(Effect.provide(PipelineLive(tenant)), Effect.provide(Layer.provideMerge(provision(tenant), TestRuntime)))
  })

  it.effect("adds the never categorized with activity or an HR record, recent hires and HR changes since the label", () => {
    const tenant = freshTenant("nq")
    const [active, hrOnly, hired, moved, unchanged] = ["000000a1", "000000a2", "000000a3", "000000a4", "000000a5"].map(user) as [UserId, UserId, UserId, UserId, UserId]
    return Effect.gen(function* () {
      yield* Effect.flatMap(EventWarehouse, (w) => w.append(uses(active, "github", [1])))
      const hr = (userId: UserId, type: "hire" | "role_change", daysAgo: number) => ({
        eventId: `${type}:${userId}`, userId, type, effectiveDate: addDays(date, -daysAgo), title: "Engineer", department: "R&D", team: "A", managerId: null, employeeRef: null
      })
      yield* Effect.flatMap(Employees, (e) => e.insert([hr(hrOnly, "hire", 400), hr(hired, "hire", 3), hr(moved, "hire", 400), hr(moved, "role_change", 2), hr(unchanged, "hire", 400)]))
      yield* label([hired, moved, unchanged], 10)
      expect([...(yield* candidates(night)).keys()].sort()).toEqual([active, hrOnly, hired, moved].sort())
    }).pipe(Effect.provide(PipelineLive(tenant)), Effect.provide(Layer.provideMerge(provision(tenant), TestRuntime)))
  })

  it.effect("sums the metrics' groups (and each app's) in the warehouse as `groupMetrics` does from profiles", () => {
    const tenant = freshTenant("nq")
    const people = range(0, 11).map((i) => user(`0000b${i.toString(16).padStart(3, "0")}`))
    return Effect.gen(function* () {
      const w = yield* EventWarehouse
      yield* w.append(people.flatMap((u, i) => [...uses(u, "github", range(1, 5 + i), 1 + (i % 3), 1 + (i % 2)), ...uses(u, "jira", range(3, 4 + (i % 4)), 2, 2)]))
      yield* Effect.flatMap(Employees, (e) =>
        e.insert(people.slice(0, 8).map((userId, i) => ({
          eventId: `hire:${userId}`, userId, type: "hire" as const, effectiveDate: "2024-01-08" as IsoDate,
          title: "Engineer", department: i % 2 === 0 ? "R&D" : "Sales", team: `T${i % 3}`, managerId: null, employeeRef: null
        })))
      )
      yield* label(people.slice(0, 5), 3)
      // Profiles over the metrics window: what `groupMetrics` sums.
      const metricsNight = { ...night, profileWindowDays: 28, metricsWindowDays: 28 }
      const totals = yield* w.groupTotals(metricsNight)
      const profiles = yield* w.profiles(metricsNight, people)
      const staff = yield* Effect.flatMap(Employees, (e) => e.asOf(date))
      const labels = yield* Effect.flatMap(CategoryStore, (c) => c.labelsOf(people))
      const wastes = [...profiles.values()].map((p) => ({ userId: p.userId, waste: userWaste(p) }))
      const expected = [
        ...groupMetrics("department", wastes.map((x) => ({ group: staff.get(x.userId)?.department ?? "Unknown", waste: x.waste })), 28),
        ...groupMetrics("team", wastes.map((x) => ({ group: staff.get(x.userId)?.team ?? "Unknown", waste: x.waste })), 28),
        ...groupMetrics("category", wastes.map((x) => ({ group: labels.get(x.userId)?.category ?? "uncategorized", waste: x.waste })), 28),
        ...groupMetrics(
          "department_category",
          wastes.map((x) => ({ group: JSON.stringify([staff.get(x.userId)?.department ?? "Unknown", labels.get(x.userId)?.category ?? "uncategorized"]), waste: x.waste })),
          28
        ),
        // Per app: each user's use of it as if it were all they did.
        ...groupMetrics(
          "app",
          [...profiles.values()].flatMap((p) =>
            p.apps.map((a) => ({ group: a.app as string, waste: userWaste({ accesses: a.accesses, authSteps: a.authSteps, activeDays: a.activeDays, appDays: a.activeDays }) }))
          ),
          28
        )
      ]
      expect(totals).toHaveLength(expected.length)
      for (const e of expected) {
        const t = totals.find((x) => x.groupBy === e.groupBy && x.group === e.group)
        expect(t, `${e.groupBy} ${e.group}`).toMatchObject({ employees: e.employees, activeDays: e.activeDays, accesses: e.accesses })
        expect(t!.authWasteHours).toBeCloseTo(e.authWasteHours, 9)
        expect(t!.contextSwitchWasteHours).toBeCloseTo(e.contextSwitchWasteHours, 9)
      }
    }).pipe(Effect.provide(PipelineLive(tenant)), Effect.provide(Layer.provideMerge(provision(tenant), TestRuntime)))
  })
})
