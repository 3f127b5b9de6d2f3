import type { AppCatalog } from "./AppCatalog.js"
import type { Archetypes } from "./Archetypes.js"
import { authWasteHours, contextSwitchWasteHours, type GroupMetrics } from "./Metrics.js"
import { type AppProfile, avgAuthStep, distinctAppsPerDay } from "./Profile.js"
import type { CategoryId } from "./Taxonomy.js"

/** Thresholds above which friction is worth a recommendation. */
export const FRICTION = {
  avgAuthStep: 1.25,
  distinctAppsPerDay: 9,
  minOverlapShare: 0.03
} as const

const hours = (h: number) => (h >= 10 ? h.toFixed(0) : h.toFixed(1))

/**
 * Rule-based recommendations from a profile's observed friction: re-authentication, app
 * switching, and paying twice for interchangeable tools (of the person's category, when known:
 * the tool slots of its archetype and the ones everybody has). At most three, most costly first.
 */
export const recommendations = (
  profile: AppProfile,
  catalog: AppCatalog,
  archetypes: Archetypes,
  category?: CategoryId
): ReadonlyArray<string> => {
  const found: Array<{ readonly cost: number; readonly text: string }> = []
  const weeks = Math.max(1, (Date.parse(profile.windowEnd) - Date.parse(profile.windowStart)) / (7 * 86_400_000))

  const steps = avgAuthStep(profile)
  if (steps >= FRICTION.avgAuthStep) {
    const worst = [...profile.apps]
      .filter((a) => a.accesses > 0)
      .sort((a, b) => b.authSteps / b.accesses - a.authSteps / a.accesses)
      .slice(0, 2)
      .map((a) => catalog.displayName(a.app))
    const perWeek = authWasteHours(steps, profile.accesses) / weeks
    found.push({
      cost: perWeek,
      text: `Sign-ins average ${steps.toFixed(2)} steps (about ${hours(perWeek)} h a week lost to re-authentication); longer SSO sessions or device trust for ${worst.join(" and ")} would cut the prompts.`
    })
  }

  const perDay = distinctAppsPerDay(profile)
  if (perDay >= FRICTION.distinctAppsPerDay) {
    const perWeek = (contextSwitchWasteHours(perDay) * profile.activeDays) / weeks
    found.push({
      cost: perWeek,
      text: `About ${perDay.toFixed(0)} different apps a day (about ${hours(perWeek)} h a week of context switching); pinning the daily core in one workspace or retiring rarely used tools would help.`
    })
  }

  const share = new Map(profile.apps.map((a) => [a.app as string, profile.accesses === 0 ? 0 : a.accesses / profile.accesses]))
  const seen = new Set<string>()
  const roles = category === undefined ? archetypes.archetypes : archetypes.archetypes.filter((a) => a.category === category)
  for (const slot of [...archetypes.common, ...roles.flatMap((a) => a.slots)]) {
    const used = slot.apps.filter((app) => (share.get(app) ?? 0) >= FRICTION.minOverlapShare)
    const key = used.join("|")
    if (used.length < 2 || seen.has(key)) continue
    seen.add(key)
    const names = used.map((app) => catalog.displayName(app))
    // Dropping one of the apps saves one app switch on each active day.
    const perWeek = (contextSwitchWasteHours(used.length - 1) * profile.activeDays) / weeks
    found.push({
      cost: perWeek,
      text: `Uses ${names.join(" and ")} for the same job; standardizing on one would save about ${hours(perWeek)} h a week of switching, and a licence.`
    })
  }
  return found.sort((a, b) => b.cost - a.cost).slice(0, 3).map((f) => f.text)
}

/** A recommendation for the whole tenant, from its aggregate metrics: what it is about and what the friction costs a year. */
export interface TenantRecommendation {
  readonly kind: "sign-in" | "app-switching"
  /** The app (sign-in) or department (app switching) it is about. */
  readonly subject: string
  readonly text: string
  readonly hoursPerYear: number
  readonly costUsdPerYear: number
}

/**
 * Tenant-level recommendations from a night's shown groups (small ones already withheld): the apps
 * whose extra sign-in steps cost most, and the departments switching between the most apps a
 * day. Costly first, at most `limit`; hours over the window are scaled to a year.
 */
export const tenantRecommendations = (
  snapshot: {
    readonly windowDays: number
    readonly apps: ReadonlyArray<GroupMetrics>
    readonly departments: ReadonlyArray<GroupMetrics>
  },
  options: { readonly loadedCostPerHour: number; readonly catalog: AppCatalog; readonly limit?: number }
): ReadonlyArray<TenantRecommendation> => {
  const perYear = 365 / Math.max(1, snapshot.windowDays)
  const money = (h: number) => `$${Math.round(h * options.loadedCostPerHour).toLocaleString("en-US")}`
  const found: Array<TenantRecommendation> = []
  for (const app of snapshot.apps) {
    if (app.avgAuthStep < FRICTION.avgAuthStep) continue
    const h = app.authWasteHours * perYear
    const name = options.catalog.displayName(app.group)
    found.push({
      kind: "sign-in",
      subject: app.group,
      text: `${name} asks its ${app.employees} users for ${app.avgAuthStep.toFixed(2)} sign-in steps on average: about ${hours(h)} h (${money(h)}) a year; longer SSO sessions or device trust for ${name} would cut the prompts.`,
      hoursPerYear: h,
      costUsdPerYear: h * options.loadedCostPerHour
    })
  }
  for (const department of snapshot.departments) {
    if (department.distinctAppsPerDay < FRICTION.distinctAppsPerDay) continue
    // Each app fewer a day saves a refocus on every active day.
    const excess = department.distinctAppsPerDay - FRICTION.distinctAppsPerDay + 1
    const h = contextSwitchWasteHours(excess) * department.activeDays * perYear
    found.push({
      kind: "app-switching",
      subject: department.group,
      text: `${department.group} uses ${department.distinctAppsPerDay.toFixed(1)} apps a day per person; bringing that under ${FRICTION.distinctAppsPerDay} would save about ${hours(h)} h (${money(h)}) a year of context switching.`,
      hoursPerYear: h,
      costUsdPerYear: h * options.loadedCostPerHour
    })
  }
  return found.sort((a, b) => b.hoursPerYear - a.hoursPerYear).slice(0, options.limit ?? 5)
}
