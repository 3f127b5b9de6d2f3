import { type AppProfile, avgAuthStep, distinctAppsPerDay } from "./Profile.js"

/** Minutes an extra sign-in step costs per access. */
export const MINUTES_PER_EXTRA_AUTH_STEP = 0.5
/** Minutes of refocusing each distinct app used in a day costs. */
export const MINUTES_PER_APP_SWITCH = 5

/** auth_waste_hours = (avg_auth_step - 1) * 0.5 * accesses / 60 */
export const authWasteHours = (avgAuthStepValue: number, accesses: number): number =>
  (Math.max(0, avgAuthStepValue - 1) * MINUTES_PER_EXTRA_AUTH_STEP * accesses) / 60

/** context_switch_waste_hours = distinct_apps_per_day * 5 / 60 (hours for one day) */
export const contextSwitchWasteHours = (distinctAppsPerDayValue: number): number =>
  (distinctAppsPerDayValue * MINUTES_PER_APP_SWITCH) / 60

/** What one user's activity over a window costs, in hours. */
export interface UserWaste {
  readonly accesses: number
  readonly authSteps: number
  readonly activeDays: number
  readonly appDays: number
  readonly authWasteHours: number
  readonly contextSwitchWasteHours: number
}

export const userWaste = (p: Pick<AppProfile, "accesses" | "authSteps" | "activeDays" | "appDays">): UserWaste => ({
  accesses: p.accesses,
  authSteps: p.authSteps,
  activeDays: p.activeDays,
  appDays: p.appDays,
  authWasteHours: authWasteHours(avgAuthStep(p), p.accesses),
  contextSwitchWasteHours: contextSwitchWasteHours(distinctAppsPerDay(p)) * p.activeDays
})

/**
 * How a night's totals are grouped: by department, team or category; by category within each
 * department (`department_category`, the group a JSON array `[department, category]`); by app (the
 * employees being the app's users).
 */
export type Grouping = "department" | "team" | "category" | "department_category" | "app"

/** Productivity metrics of a group of employees (a department, team, category or an app's users) over a window. */
export interface GroupMetrics {
  readonly groupBy: Grouping
  readonly group: string
  readonly employees: number
  readonly activeDays: number
  readonly accesses: number
  readonly avgAuthStep: number
  readonly distinctAppsPerDay: number
  readonly authWasteHours: number
  readonly contextSwitchWasteHours: number
  /** (auth + context-switch waste) per employee per week of the window. */
  readonly wasteHoursPerEmployeeWeek: number
}

/** What the users of one group add up to over a window (the sums of their `UserWaste`). */
export interface GroupTotals {
  readonly groupBy: GroupMetrics["groupBy"]
  readonly group: string
  readonly employees: number
  readonly activeDays: number
  readonly appDays: number
  readonly accesses: number
  readonly authSteps: number
  readonly authWasteHours: number
  readonly contextSwitchWasteHours: number
}

/** A group's metrics from its totals over a window of `windowDays`. */
export const groupMetricsOf = (t: GroupTotals, windowDays: number): GroupMetrics => {
  const weeks = windowDays / 7
  return {
    groupBy: t.groupBy,
    group: t.group,
    employees: t.employees,
    activeDays: t.activeDays,
    accesses: t.accesses,
    avgAuthStep: avgAuthStep(t),
    distinctAppsPerDay: distinctAppsPerDay(t),
    authWasteHours: t.authWasteHours,
    contextSwitchWasteHours: t.contextSwitchWasteHours,
    wasteHoursPerEmployeeWeek: weeks > 0 && t.employees > 0 ? (t.authWasteHours + t.contextSwitchWasteHours) / t.employees / weeks : 0
  }
}

/** Aggregates users' waste into one row per group value, ordered by group. */
export const groupMetrics = (
  groupBy: GroupMetrics["groupBy"],
  users: Iterable<{ readonly group: string; readonly waste: UserWaste }>,
  windowDays: number
): ReadonlyArray<GroupMetrics> => {
  const totals = new Map<string, { -readonly [K in keyof GroupTotals]: GroupTotals[K] }>()
  for (const { group, waste: w } of users) {
    const t = totals.get(group) ??
      { groupBy, group, employees: 0, activeDays: 0, appDays: 0, accesses: 0, authSteps: 0, authWasteHours: 0, contextSwitchWasteHours: 0 }
    t.employees++
    t.activeDays += w.activeDays
    t.appDays += w.appDays
    t.accesses += w.accesses
    t.authSteps += w.authSteps
    t.authWasteHours += w.authWasteHours
    t.contextSwitchWasteHours += w.contextSwitchWasteHours
    totals.set(group, t)
  }
  return [...totals.values()].map((t) => groupMetricsOf(t, windowDays)).sort((a, b) => a.group.localeCompare(b.group))
}

/** The group that small groups are rolled up into. */
export const SMALL_GROUPS = "(small groups)"

/**
 * Privacy for aggregates: a group with fewer than `minGroupSize` employees is never shown raw.
 * `suppress` drops such groups; `rollup` merges them into one group, itself dropped if still
 * too small. Returns what may be shown and how many groups were withheld.
 */
export const applySmallGroupPolicy = (
  groups: ReadonlyArray<GroupMetrics>,
  options: { readonly minGroupSize: number; readonly policy: "suppress" | "rollup"; readonly windowDays: number }
): { readonly groups: ReadonlyArray<GroupMetrics>; readonly suppressedGroups: number } => {
  const large = groups.filter((g) => g.employees >= options.minGroupSize)
  const small = groups.filter((g) => g.employees < options.minGroupSize)
  if (small.length === 0) return { groups: large, suppressedGroups: 0 }
  if (options.policy === "rollup") {
    const sum = (f: (g: GroupMetrics) => number) => small.reduce((acc, g) => acc + f(g), 0)
    const employees = sum((g) => g.employees)
    if (employees >= options.minGroupSize) {
      const accesses = sum((g) => g.accesses)
      const activeDays = sum((g) => g.activeDays)
      const auth = sum((g) => g.authWasteHours)
      const ctx = sum((g) => g.contextSwitchWasteHours)
      const merged: GroupMetrics = {
        groupBy: small[0]!.groupBy,
        group: SMALL_GROUPS,
        employees,
        activeDays,
        accesses,
        avgAuthStep: accesses === 0 ? 1 : sum((g) => g.avgAuthStep * g.accesses) / accesses,
        distinctAppsPerDay: activeDays === 0 ? 0 : sum((g) => g.distinctAppsPerDay * g.activeDays) / activeDays,
        authWasteHours: auth,
        contextSwitchWasteHours: ctx,
        wasteHoursPerEmployeeWeek: options.windowDays > 0 ? (auth + ctx) / employees / (options.windowDays / 7) : 0
      }
      return { groups: [...large, merged], suppressedGroups: 0 }
    }
  }
  return { groups: large, suppressedGroups: small.length }
}
