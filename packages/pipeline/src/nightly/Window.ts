import { addDays } from "@workcat/core"

/** Profiles cover the 90 days before the run date. */
export const PROFILE_WINDOW_DAYS = 90

/**
 * The nightly run keys (dates) whose inputs include days `first`..`last`: a run on date D reads
 * [D-90, D), so runs after `first` up to 90 days after `last`.
 */
export const nightlyKeysAffected = (first: string, last: string) => ({ after: first, upTo: addDays(last, PROFILE_WINDOW_DAYS) })
