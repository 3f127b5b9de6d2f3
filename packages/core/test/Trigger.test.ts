import { describe, expect, it } from "@effect/vitest"
import { addDays, dayNumber, type IsoDate, isPeriodicDue, periodicSlot, selectTriggers, type TriggerCandidate, type UserId } from "../src/index.js"

const date = "2026-11-23" as IsoDate
const user = (hex: string) => `u_${hex.padEnd(32, "0")}` as UserId
const options = { date, newHireDays: 7 }
const candidate = (c: Partial<TriggerCandidate> & { userId: UserId }): TriggerCandidate => ({
  active: true,
  hireDate: null,
  categorizedAt: new Date("2026-10-01"),
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
})
