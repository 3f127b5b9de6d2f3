import type { AppKey } from "./AppCatalog.js"
import type { IsoDate } from "./Employee.js"
import type { UserId } from "./Pseudonym.js"

/** One app in a user's profile over the profile window. */
export interface AppUsage {
  readonly app: AppKey
  readonly accesses: number
  readonly activeDays: number
  readonly authSteps: number
}

/** A user's app usage over a window `[windowStart, windowEnd)`, built from `user_app_daily`. */
export interface AppProfile {
  readonly userId: UserId
  readonly windowStart: IsoDate
  readonly windowEnd: IsoDate
  readonly activeDays: number
  readonly accesses: number
  /** Sum of sign-in steps over all accesses. */
  readonly authSteps: number
  /** Sum over active days of the distinct apps used that day. */
  readonly appDays: number
  /** Most used first. */
  readonly apps: ReadonlyArray<AppUsage>
}

export const avgAuthStep = (p: Pick<AppProfile, "accesses" | "authSteps">): number =>
  p.accesses === 0 ? 1 : p.authSteps / p.accesses

export const distinctAppsPerDay = (p: Pick<AppProfile, "activeDays" | "appDays">): number =>
  p.activeDays === 0 ? 0 : p.appDays / p.activeDays

/** The share of a profile's accesses that went to each app, largest first. */
export const appShares = (p: AppProfile): ReadonlyArray<readonly [AppKey, number]> =>
  p.apps.map((a) => [a.app, p.accesses === 0 ? 0 : a.accesses / p.accesses] as const)

/** A sparse vector keyed by app, of unit length unless empty. */
export type SparseVector = ReadonlyMap<string, number>

/**
 * Inverse document frequency of each app, from counts: of `population` users, `users.get(app)`
 * use the app. Apps everybody uses (mail, chat) say little about what somebody does.
 */
export const idfOf = (population: number, users: ReadonlyMap<string, number>): ReadonlyMap<string, number> => {
  const idf = new Map<string, number>()
  for (const [app, count] of users) idf.set(app, Math.log((1 + population) / (1 + count)) + 1)
  return idf
}

/** An app's weight when no population statistics exist (a lone user, a new app). */
export const DEFAULT_IDF = 1

export const normalize = (v: Map<string, number>): SparseVector => {
  let norm = 0
  for (const x of v.values()) norm += x * x
  norm = Math.sqrt(norm)
  if (norm > 0) for (const [k, x] of v) v.set(k, x / norm)
  return v
}

/** The profile as a unit vector: log-damped active days per app, weighted by IDF. */
export const profileVector = (p: { readonly apps: ReadonlyArray<Pick<AppUsage, "app" | "activeDays">> }, idf: ReadonlyMap<string, number> = new Map()): SparseVector => {
  const v = new Map<string, number>()
  for (const a of p.apps) v.set(a.app, Math.log1p(a.activeDays) * (idf.get(a.app) ?? DEFAULT_IDF))
  return normalize(v)
}

/** Cosine similarity of two unit vectors. */
export const cosine = (a: SparseVector, b: SparseVector): number => {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a]
  let dot = 0
  for (const [k, x] of small) {
    const y = large.get(k)
    if (y !== undefined) dot += x * y
  }
  return dot
}
