import { Schema } from "effect"
import { addDays, dayNumber, daysBetween, isoDate } from "./Dates.js"
import type { IsoDate } from "./Employee.js"
import type { UserId } from "./Pseudonym.js"

/** Why a user is categorized tonight. */
export const TriggerReason = Schema.Literal("uncategorized", "new_hire", "periodic", "hr_change", "anomaly")
export type TriggerReason = typeof TriggerReason.Type

/** Every user is refreshed once per this many days, a rotating slice a night (the default of a tenant's `periodicDays`). */
export const PERIODIC_DAYS = 60

/** The night (mod `days`) on which a user is refreshed: derived from the pseudonym, so stable and uniform. */
export const periodicSlot = (userId: UserId, days: number = PERIODIC_DAYS): number => Number.parseInt(userId.slice(2, 10), 16) % days

export const isPeriodicDue = (userId: UserId, date: string, days: number = PERIODIC_DAYS): boolean =>
  periodicSlot(userId, days) === dayNumber(date) % days

/** What trigger selection knows of one user. */
export interface TriggerCandidate {
  readonly userId: UserId
  /** Whether the user has any app access in the profile window. */
  readonly active: boolean
  readonly hireDate: IsoDate | null
  readonly categorizedAt: Date | null
  /** Whether the user's title, department or team changed since their last categorization. */
  readonly hrChanged: boolean
  /** How far the recent app mix drifted from the profile and category (see `driftScore`); null when unknown. */
  readonly drift: number | null
}

export interface TriggerOptions {
  readonly date: IsoDate
  /** A hire within this many days before the run date is recategorized every night. */
  readonly newHireDays: number
  /** A drift above this (0..1, the tenant's `anomalyThreshold`) is an anomaly. */
  readonly anomalyThreshold: number
  /** Every categorized user is refreshed once per this many days (default `PERIODIC_DAYS`). */
  readonly periodicDays?: number | undefined
}

/**
 * A user categorized within this many days is not re-selected for an anomaly: the drift is
 * measured on the recent window (14 days by default), so it persists for days after the
 * categorization that already saw it.
 */
export const ANOMALY_COOLDOWN_DAYS = 7

export interface SelectedUser {
  readonly userId: UserId
  readonly reasons: ReadonlyArray<TriggerReason>
}

export interface TriggerSelection {
  readonly selected: ReadonlyArray<SelectedUser>
  /** Users a trigger fired for who have no activity to categorize yet (new hires before day one). */
  readonly deferred: ReadonlyArray<SelectedUser>
}

/** The reasons a user is due tonight, in a fixed order; empty when not due. */
export const triggerReasons = (c: TriggerCandidate, options: TriggerOptions): ReadonlyArray<TriggerReason> => {
  const reasons: Array<TriggerReason> = []
  if (c.categorizedAt === null) reasons.push("uncategorized")
  if (c.hireDate !== null && c.hireDate <= options.date && c.hireDate > addDays(options.date, -options.newHireDays)) {
    reasons.push("new_hire")
  }
  const categorizedDay = c.categorizedAt === null ? null : isoDate(c.categorizedAt)
  if (categorizedDay !== null && c.hrChanged) reasons.push("hr_change")
  if (
    categorizedDay !== null &&
    c.drift !== null &&
    c.drift > options.anomalyThreshold &&
    daysBetween(categorizedDay, options.date) >= ANOMALY_COOLDOWN_DAYS
  ) {
    reasons.push("anomaly")
  }
  // Due on the user's night, or overdue: a missed night must not push a refresh out by a whole period more.
  const periodic = options.periodicDays ?? PERIODIC_DAYS
  if (categorizedDay !== null && (isPeriodicDue(c.userId, options.date, periodic) || daysBetween(categorizedDay, options.date) > periodic)) {
    reasons.push("periodic")
  }
  return reasons
}

/** Selects tonight's users: never categorized, new hires, HR changes, anomalies and the periodic slice (1/60 by default). */
export const selectTriggers = (candidates: Iterable<TriggerCandidate>, options: TriggerOptions): TriggerSelection => {
  const selected: Array<SelectedUser> = []
  const deferred: Array<SelectedUser> = []
  for (const c of candidates) {
    const reasons = triggerReasons(c, options)
    if (reasons.length === 0) continue
    ;(c.active ? selected : deferred).push({ userId: c.userId, reasons })
  }
  return { selected, deferred }
}
