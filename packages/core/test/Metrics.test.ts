import { describe, expect, it } from "@effect/vitest"
import { authWasteHours, contextSwitchWasteHours, groupMetrics, userWaste } from "../src/index.js"

describe("metric formulas", () => {
  it("auth_waste_hours = (avg_auth_step - 1) * 0.5 * accesses / 60", () => {
    expect(authWasteHours(1.5, 120)).toBeCloseTo(0.5)
    expect(authWasteHours(3, 60)).toBeCloseTo(1)
    expect(authWasteHours(1, 1000)).toBe(0)
  })

  it("context_switch_waste_hours = distinct_apps_per_day * 5 / 60", () => {
    expect(contextSwitchWasteHours(12)).toBeCloseTo(1)
    expect(contextSwitchWasteHours(0)).toBe(0)
  })

  it("sums a user's window as the sum of the daily figures", () => {
    // Two days: 10 accesses with 15 steps and 4 apps; 20 accesses with 20 steps and 8 apps.
    const waste = userWaste({ accesses: 30, authSteps: 35, activeDays: 2, appDays: 12 })
    expect(waste.authWasteHours).toBeCloseTo(authWasteHours(1.5, 10) + authWasteHours(1, 20))
    expect(waste.contextSwitchWasteHours).toBeCloseTo(contextSwitchWasteHours(4) + contextSwitchWasteHours(8))
  })

  it("aggregates groups per employee and week", () => {
    const a = userWaste({ accesses: 60, authSteps: 120, activeDays: 5, appDays: 60 })
    const b = userWaste({ accesses: 60, authSteps: 60, activeDays: 5, appDays: 0 })
    const [g] = groupMetrics("department", [{ group: "Sales", waste: a }, { group: "Sales", waste: b }], 14)
    expect(g).toMatchObject({ group: "Sales", employees: 2, accesses: 120, avgAuthStep: 1.5, distinctAppsPerDay: 6 })
    expect(g!.authWasteHours).toBeCloseTo(0.5)
    expect(g!.contextSwitchWasteHours).toBeCloseTo(5)
    expect(g!.wasteHoursPerEmployeeWeek).toBeCloseTo(5.5 / 2 / 2)
  })
})
