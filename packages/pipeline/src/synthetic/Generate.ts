import { addDays, type HrRecord, type IsoDate } from "@workcat/core"
import { Data, Effect } from "effect"
import { once } from "node:events"
import * as fs from "node:fs"
import * as path from "node:path"
import { eventsForDay } from "./Events.js"
import { makePopulation, type SyntheticTenant } from "./Population.js"
import { makeRandom } from "./Random.js"

export class GenerateError extends Data.TaggedError("GenerateError")<{ readonly message: string }> {}

export interface GenerateOptions {
  readonly tenant: string
  readonly employees: number
  readonly days: number
  readonly seed: string
  /** The day after the last generated day: run the nightly job for this date. */
  readonly end: IsoDate
  readonly out: string
  /** Share of event lines written malformed, to exercise dead letters. */
  readonly malformedRate?: number
  readonly onProgress?: (daysDone: number, days: number, events: number) => void
}

/** One line of the ground-truth file. */
export interface TruthRecord {
  readonly login: string
  readonly category: string
  readonly secondary: string | null
  readonly drift: { readonly to: string; readonly since: string } | null
}

export interface GeneratedFiles {
  readonly events: string
  readonly hr: string
  readonly truth: string
  readonly eventCount: number
  readonly employees: number
}

export const FILES = { events: "okta-events.ndjson", hr: "hr.ndjson", truth: "truth.ndjson" } as const

const hrRecords = (t: SyntheticTenant): Array<HrRecord> =>
  t.employees
    .flatMap((e, i) => {
      const person = { login: e.login, name: e.name }
      const records: Array<HrRecord> = [
        { eventId: `hr-${i}-hire`, type: "hire", ...person, effectiveDate: e.hireDate, title: e.title, department: e.department, team: e.team }
      ]
      if (e.promotion !== null && e.promotion.date > e.hireDate) {
        records.push({ eventId: `hr-${i}-promotion`, type: "role_change", ...person, effectiveDate: e.promotion.date, title: e.promotion.title })
      }
      if (e.terminationDate !== null) {
        records.push({ eventId: `hr-${i}-termination`, type: "termination", ...person, effectiveDate: e.terminationDate })
      }
      return records
    })
    .sort((a, b) => a.effectiveDate.localeCompare(b.effectiveDate) || a.eventId.localeCompare(b.eventId))

export const writeLines = async (file: string, lines: Iterable<string>) => {
  const stream = fs.createWriteStream(file)
  for (const line of lines) if (!stream.write(line + "\n")) await once(stream, "drain")
  stream.end()
  await once(stream, "finish")
}

/** Writes `days` days of event lines to `file`, day by day in order (`linesOf(d)` for day index `d`); the number of lines. */
export const writeEventDays = async (
  file: string,
  days: number,
  linesOf: (day: number) => ReadonlyArray<string>,
  onDay?: (daysDone: number, lines: number) => void
) => {
  let count = 0
  const stream = fs.createWriteStream(file)
  for (let d = 0; d < days; d++) {
    const lines = linesOf(d)
    count += lines.length
    if (lines.length > 0 && !stream.write(lines.join("\n") + "\n")) await once(stream, "drain")
    onDay?.(d + 1, count)
  }
  stream.end()
  await once(stream, "finish")
  return count
}

/**
 * Writes a synthetic tenant to `out`: Okta System Log NDJSON, HR records and the ground truth.
 * Deterministic for a given tenant, seed, size and end date.
 */
export const generate = (options: GenerateOptions) =>
  Effect.tryPromise({
    try: async (): Promise<GeneratedFiles> => {
      const random = makeRandom(`${options.tenant}:${options.seed}`)
      const tenant = makePopulation(
        { tenant: options.tenant, employees: options.employees, days: options.days, end: options.end },
        random
      )
      await fs.promises.mkdir(options.out, { recursive: true })
      const files = {
        events: path.join(options.out, FILES.events),
        hr: path.join(options.out, FILES.hr),
        truth: path.join(options.out, FILES.truth)
      }
      await writeLines(files.hr, hrRecords(tenant).map((r) => JSON.stringify(r)))
      await writeLines(
        files.truth,
        tenant.employees.map((e) =>
          JSON.stringify({ login: e.login, category: e.category, secondary: e.secondary, drift: e.drift && { to: e.drift.to, since: e.drift.since } } satisfies TruthRecord)
        )
      )
      const eventCount = await writeEventDays(
        files.events,
        options.days,
        (d) => eventsForDay(tenant, addDays(tenant.start, d), random, options.malformedRate ?? 0),
        (done, lines) => options.onProgress?.(done, options.days, lines)
      )
      return { ...files, eventCount, employees: tenant.employees.length }
    },
    catch: (cause) => new GenerateError({ message: `Cannot generate into ${options.out}: ${String(cause)}` })
  }).pipe(Effect.withSpan("Synthetic.generate"))
