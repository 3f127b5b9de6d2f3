import { describe, expect, it } from "@effect/vitest"
import {
  addDays,
  dayNumber,
  type HrEvent,
  type IsoDate,
  isPeriodicDue,
  periodicSlot,
  roleChanged,
  selectTriggers,
  type TriggerCandidate,
  type UserId
} from "../src/index.js"

const date = "2026-11-23" as IsoDate
const user = (hex: string) => `u_${hex.padEnd(32, "0")}` as UserId
const options = { date, newHireDays: 7, anomalyThreshold: 0.5 }
const candidate = (c: Partial<TriggerCandidate> & { userId: UserId }): TriggerCandidate => ({
  active: true,
  hireDate: null,
  categorizedAt: new Date("2026-10-01"),
  hrChanged: false,
  drift: null,
  ...c
})

describe("trigger selection", () => {
  it("selects every never-categorized user on a first run", () => {
    const users = Array.from({ length: 50 }, (_, i) => candidate({ userId: user(i.toString(16).padStart(8, "0")), categorizedAt: null }))
    const { selected } = selectTriggers(users, options)
    expect(selected).toHaveLength(50)
    expect(selected.every((s) => s.reasons.includes("uncategorized"))).toBe(true)
  })

  it("refreshes the users whose slot is tonight: hash mod 60 = day mod 60", () => {
    // 2026-11-23 is day 20780 since 1970; 20780 mod 60 = 20 = 0x14.
    const due = user("00000014")
    const notDue = user("00000015")
    expect(periodicSlot(due)).toBe(20)
    expect(isPeriodicDue(due, date)).toBe(true)
    expect(isPeriodicDue(due, addDays(date, 60))).toBe(true)
    expect(isPeriodicDue(due, addDays(date, 1))).toBe(false)
    const { selected } = selectTriggers([candidate({ userId: due }), candidate({ userId: notDue })], options)
    expect(selected).toEqual([{ userId: due, reasons: ["periodic"] }])
  })

  it("refreshes about 1/60 of categorized staff a night", () => {
    const users = Array.from({ length: 6000 }, (_, i) => candidate({ userId: user((i * 2654435761 >>> 0).toString(16).padStart(8, "0")) }))
    const counts = [0, 1, 2].map((d) => selectTriggers(users, { ...options, date: addDays(date, d) }).selected.length)
    for (const n of counts) expect(n).toBeGreaterThan(60)
    for (const n of counts) expect(n).toBeLessThan(140)
  })

  it("selects new hires in their first week, and defers those with no activity yet", () => {
    const hired = (days: number, active = true) =>
      candidate({ userId: user(`a${days}`), hireDate: addDays(date, -days), active, categorizedAt: null })
    const { deferred, selected } = selectTriggers([hired(0, false), hired(3), hired(6), hired(7)], options)
    expect(selected.map((s) => [s.userId, s.reasons])).toEqual([
      [user("a3"), ["uncategorized", "new_hire"]],
      [user("a6"), ["uncategorized", "new_hire"]],
      [user("a7"), ["uncategorized"]]
    ])
    expect(deferred).toEqual([{ userId: user("a0"), reasons: ["uncategorized", "new_hire"] }])
  })

  it("does not select a future hire, nor a user refreshed recently whose night it is not", () => {
    // Slot of 0x000000f1 is 241 mod 60 = 1; the date's slot is 20780 mod 60 = 20.
    expect(periodicSlot(user("000000f1"))).toBe(1)
    expect(dayNumber(date) % 60).toBe(20)
    const future = candidate({ userId: user("000000f1"), hireDate: addDays(date, 3), categorizedAt: new Date("2026-11-01") })
    expect(selectTriggers([future], options)).toEqual({ selected: [], deferred: [] })
  })

  it("catches up a refresh missed on the user's night", () => {
    const overdue = candidate({ userId: user("000000f1"), categorizedAt: new Date(`${addDays(date, -61)}T12:00:00Z`) })
    const recent = candidate({ userId: user("000000f2"), categorizedAt: new Date(`${addDays(date, -59)}T12:00:00Z`) })
    expect(selectTriggers([overdue, recent], options).selected).toEqual([{ userId: overdue.userId, reasons: ["periodic"] }])
  })

  it("selects a role change since the last categorization, and a drift above the tenant's threshold", () => {
    const promoted = candidate({ userId: user("000000f1"), hrChanged: true })
    const drifted = candidate({ userId: user("000000f2"), drift: 0.62 })
    const steady = candidate({ userId: user("000000f3"), drift: 0.49 })
    // Categorized three days ago: the drift was already seen, so no anomaly yet; a role change still counts.
    const justDone = candidate({ userId: user("000000f4"), drift: 0.9, hrChanged: true, categorizedAt: new Date(`${addDays(date, -3)}T02:00:00Z`) })
    // Never categorized: "uncategorized" says it all.
    const fresh = candidate({ userId: user("000000f5"), drift: 0.9, hrChanged: true, categorizedAt: null })
    expect(selectTriggers([promoted, drifted, steady, justDone, fresh], options).selected).toEqual([
      { userId: promoted.userId, reasons: ["hr_change"] },
      { userId: drifted.userId, reasons: ["anomaly"] },
      { userId: justDone.userId, reasons: ["hr_change"] },
      { userId: fresh.userId, reasons: ["uncategorized"] }
    ])
    expect(selectTriggers([drifted], { ...options, anomalyThreshold: 0.7 }).selected).toEqual([])
  })
})

describe("role changes", () => {
  const u = user("1")
  const event = (eventId: string, type: HrEvent["type"], effectiveDate: string, fields: Partial<HrEvent> = {}): HrEvent => ({
    eventId,
    userId: u,
    type,
    effectiveDate: effectiveDate as IsoDate,
    title: null,
    department: null,
    team: null,
    managerId: null,
    employeeRef: null,
    ...fields
  })
  const hire = event("e1", "hire", "2025-01-10", { title: "Engineer", department: "Engineering", team: "Core" })

  it("is a change of title, department or team effective after the categorization and by the run date", () => {
    const promotion = event("e2", "role_change", "2026-11-20", { title: "Staff Engineer" })
    expect(roleChanged(u, [hire, promotion], "2026-11-01", "2026-11-23")).toBe(true)
    expect(roleChanged(u, [hire, promotion], "2026-11-21", "2026-11-23")).toBe(false)
    // Dated next week: not a change yet.
    expect(roleChanged(u, [hire, promotion], "2026-11-01", "2026-11-19")).toBe(false)
  })

  it("ignores a role-change record that changes nothing, and terminations", () => {
    const same = event("e2", "role_change", "2026-11-20", { title: "Engineer", team: "Core" })
    const termination = event("e3", "termination", "2026-11-21")
    expect(roleChanged(u, [hire, same, termination], "2026-11-01", "2026-11-23")).toBe(false)
  })
})
