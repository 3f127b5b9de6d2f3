import { addDays } from "@workcat/core"
import { defaultNightly } from "@workcat/tenancy"

/** Profiles cover the 90 days before the run date, unless the tenant's `nightly.profileWindowDays` says otherwise. */
export const PROFILE_WINDOW_DAYS = defaultNightly.profileWindowDays

/**
 * The nightly run keys (dates) whose inputs include days `first`..`last`: a run on date D reads
 * [D - profileWindowDays, D) (every other window of the night lies within it), so runs after
 * `first` up to `profileWindowDays` after `last`.
 */
export const nightlyKeysAffected = (first: string, last: string, profileWindowDays: number = PROFILE_WINDOW_DAYS) => ({
  after: first,
  upTo: addDays(last, profileWindowDays)
})
