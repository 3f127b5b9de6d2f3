import type { IsoDate } from "./Employee.js"

const DAY_MS = 86_400_000

/** Days since 1970-01-01 of a calendar date. */
export const dayNumber = (date: string): number => Math.floor(Date.parse(`${date}T00:00:00Z`) / DAY_MS)

/** The calendar date `days` after `date` (negative for before). */
export const addDays = (date: string, days: number): IsoDate =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10) as IsoDate

/** The UTC calendar date of an instant. */
export const isoDate = (instant: Date): IsoDate => instant.toISOString().slice(0, 10) as IsoDate

/** Whole days from `from` to `to`. */
export const daysBetween = (from: string, to: string): number => dayNumber(to) - dayNumber(from)
