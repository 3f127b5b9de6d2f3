import {
  type AppProfile,
  centroid,
  type CategoryId,
  driftScore,
  type Employee,
  inverseDocumentFrequency,
  type IsoDate,
  mixVector,
  selectTriggers,
  type SparseVector,
  type TriggerCandidate,
  type TriggerSelection,
  type UserId
} from "@workcat/core"
import { defaultNightly, type NightlySettings } from "@workcat/tenancy"

/** The default recent window, whose app mix is compared with the rest of the profile for the anomaly trigger. */
export const RECENT_WINDOW_DAYS = defaultNightly.recentWindowDays

/** A tenant's trigger settings (see `NightlySettings`). */
export type TriggerSettings = Pick<NightlySettings, "newHireDays" | "periodicDays" | "anomalyMinAccesses" | "anomalyMinDays">

/** Too little recent activity says nothing about drift: at least this many accesses on this many days. */
export type AnomalyMinimum = Pick<NightlySettings, "anomalyMinAccesses" | "anomalyMinDays">

export interface TriggerInputs {
  readonly date: IsoDate
  /** Over the profile window (the tenant's `profileWindowDays`). */
  readonly profiles: ReadonlyMap<UserId, AppProfile>
  /** Over the recent window (the tenant's `recentWindowDays`). */
  readonly recent: ReadonlyMap<UserId, AppProfile>
  /** Over the rest of the profile window, before the recent one: what "usual" is for the anomaly trigger. */
  readonly baseline: ReadonlyMap<UserId, AppProfile>
  readonly employees: ReadonlyMap<UserId, Employee>
  readonly labels: ReadonlyMap<UserId, { readonly category: CategoryId; readonly categorizedAt: Date }>
  /** Users whose role changed since their last categorization. */
  readonly roleChanges: ReadonlySet<UserId>
  readonly anomalyThreshold: number
  /** The tenant's new-hire window, periodic slice and anomaly minimums. */
  readonly triggers: TriggerSettings
}

/**
 * Each categorized user's drift: their recent app mix against their own baseline and against the
 * centroid of their category (see `driftScore`); absent with too little recent activity or no baseline.
 */
export const drifts = (
  inputs: Pick<TriggerInputs, "profiles" | "recent" | "baseline" | "labels">,
  minimum: AnomalyMinimum = defaultNightly
): ReadonlyMap<UserId, number> => {
  const idf = inverseDocumentFrequency(inputs.profiles.values())
  const vectors = new Map<UserId, SparseVector>()
  const members = new Map<CategoryId, Array<SparseVector>>()
  for (const [userId, label] of inputs.labels) {
    const baseline = inputs.baseline.get(userId)
    if (baseline === undefined) continue
    const v = mixVector(baseline, idf)
    vectors.set(userId, v)
    const list = members.get(label.category)
    if (list === undefined) members.set(label.category, [v])
    else list.push(v)
  }
  const centroids = new Map([...members].map(([category, vs]) => [category, centroid(vs)]))
  const result = new Map<UserId, number>()
  for (const [userId, v] of vectors) {
    const recent = inputs.recent.get(userId)
    if (recent === undefined || recent.accesses < minimum.anomalyMinAccesses || recent.activeDays < minimum.anomalyMinDays) continue
    result.set(userId, driftScore(mixVector(recent, idf), v, centroids.get(inputs.labels.get(userId)!.category)))
  }
  return result
}

/**
 * Tonight's users: everyone with activity or an active HR record is a candidate; terminated
 * employees are never selected.
 */
export const selectForRun = (inputs: TriggerInputs): TriggerSelection => {
  const users = new Set<UserId>([...inputs.profiles.keys(), ...inputs.employees.keys()])
  const drift = drifts(inputs, inputs.triggers)
  const candidates: Array<TriggerCandidate> = []
  for (const userId of users) {
    const employee = inputs.employees.get(userId)
    if (employee?.status === "terminated") continue
    candidates.push({
      userId,
      active: (inputs.profiles.get(userId)?.apps.length ?? 0) > 0,
      hireDate: employee?.hireDate ?? null,
      categorizedAt: inputs.labels.get(userId)?.categorizedAt ?? null,
      hrChanged: inputs.roleChanges.has(userId),
      drift: drift.get(userId) ?? null
    })
  }
  return selectTriggers(candidates, {
    date: inputs.date,
    newHireDays: inputs.triggers.newHireDays,
    periodicDays: inputs.triggers.periodicDays,
    anomalyThreshold: inputs.anomalyThreshold
  })
}
