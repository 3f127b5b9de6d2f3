import { describe, expect, it } from "@effect/vitest"
import { applySmallGroupPolicy, authWasteHours, contextSwitchWasteHours, groupMetrics, SMALL_GROUPS, userWaste } from "../src/index.js"

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

describe("small groups", () => {
  const waste = userWaste({ accesses: 10, authSteps: 20, activeDays: 1, appDays: 6 })
  const groups = groupMetrics(
    "team",
    [
      ...Array.from({ length: 6 }, () => ({ group: "Big", waste })),
      ...Array.from({ length: 3 }, () => ({ group: "Small A", waste })),
      ...Array.from({ length: 2 }, () => ({ group: "Small B", waste })),
      { group: "Tiny", waste }
    ],
    7
  )

  it("suppresses groups under the minimum size", () => {
    const shown = applySmallGroupPolicy(groups, { minGroupSize: 5, policy: "suppress", windowDays: 7 })
    expect(shown.groups.map((g) => g.group)).toEqual(["Big"])
    expect(shown.suppressedGroups).toBe(3)
  })

  it("rolls small groups up into one, and suppresses the roll-up if it is still small", () => {
    const rolled = applySmallGroupPolicy(groups, { minGroupSize: 5, policy: "rollup", windowDays: 7 })
    expect(rolled.groups.map((g) => [g.group, g.employees])).toEqual([["Big", 6], [SMALL_GROUPS, 6]])
    expect(rolled.groups[1]!.authWasteHours).toBeCloseTo(6 * waste.authWasteHours)
    const tooFew = applySmallGroupPolicy(groups, { minGroupSize: 13, policy: "rollup", windowDays: 7 })
    expect(tooFew.groups).toEqual([])
    expect(tooFew.suppressedGroups).toBe(4)
  })
})
