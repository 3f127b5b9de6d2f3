import {
  addDays,
  Categorizer,
  inverseDocumentFrequency,
  type IsoDate,
  isoDate,
  profileVector,
  type TriggerReason,
  type UserId
} from "@workcat/core"
import * as SqlClient from "@effect/sql/SqlClient"
import { CurrentTenant } from "@workcat/tenancy"
import { Array as Arr, Cause, Effect, Exit, Schema } from "effect"
import { makeNeighbourIndex } from "../categorizer/Neighbours.js"
import { RunLedger } from "../ledger/RunLedger.js"
import { type Categorized, CategoryStore } from "../materialize/CategoryStore.js"
import { Metrics } from "../materialize/Metrics.js"
import { selectForRun } from "../triggers/TriggerSelection.js"
import { Employees } from "../warehouse/Employees.js"
import { Profiles, windowEnding } from "../warehouse/Profiles.js"

/** The run date is after tomorrow: nothing to categorize yet, and it would become the "latest" snapshot. */
export class InvalidRunDate extends Schema.TaggedError<InvalidRunDate>()("InvalidRunDate", {
  date: Schema.String,
  message: Schema.String
}) {}

/** Profiles cover the 90 days before the run date. */
export const PROFILE_WINDOW_DAYS = 90
/** Neighbours offered to the categorizer per user. */
const NEIGHBOURS = 20

export interface NightlyOptions {
  readonly date: IsoDate
  /** Users categorized at once. */
  readonly concurrency?: number
  /** Called as users are categorized. */
  readonly onProgress?: (done: number, total: number) => void
}

export interface NightlySummary {
  readonly runId: string
  readonly tenant: string
  readonly date: IsoDate
  readonly state: "READY" | "DEGRADED"
  readonly categorizer: string
  readonly selected: number
  readonly categorized: number
  readonly failed: ReadonlyArray<{ readonly userId: UserId; readonly reason: string }>
  readonly deferred: number
  readonly byReason: Readonly<Record<string, number>>
  readonly byCategory: Readonly<Record<string, number>>
  readonly metricRows: number
  readonly wallMs: number
}

const countBy = <A>(items: Iterable<A>, key: (a: A) => Iterable<string>): Record<string, number> => {
  const counts: Record<string, number> = {}
  for (const item of items) for (const k of key(item)) counts[k] = (counts[k] ?? 0) + 1
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)))
}

/**
 * The nightly job of one tenant: select triggered users, categorize each from their 90-day
 * profile and nearest categorized colleagues, store the categories, materialize the metrics,
 * and record the run.
 */
export class Nightly extends Effect.Service<Nightly>()("workcat/Nightly", {
  effect: Effect.gen(function* () {
    const tenant = yield* CurrentTenant
    const profiles = yield* Profiles
    const employees = yield* Employees
    const categories = yield* CategoryStore
    const metrics = yield* Metrics
    const ledger = yield* RunLedger
    const categorizer = yield* Categorizer
    const sql = yield* SqlClient.SqlClient

    const work = (runId: string, options: NightlyOptions) =>
      Effect.gen(function* () {
        const started = Date.now()
        const { date } = options
        const [profs, staff, labels] = yield* Effect.all(
          [profiles.load(windowEnding(date, PROFILE_WINDOW_DAYS)), employees.asOf(date), categories.labels()],
          { concurrency: 3 }
        )
        const selection = selectForRun({ date, profiles: profs, employees: staff, labels })
        const idf = inverseDocumentFrequency(profs.values())
        const index = makeNeighbourIndex(
          [...labels].flatMap(([userId, l]) => {
            const p = profs.get(userId)
            return p ? [{ userId, category: l.category, vector: profileVector(p, idf) }] : []
          })
        )

        let done = 0
        const total = selection.selected.length
        const outcomes = yield* Effect.forEach(
          selection.selected,
          ({ reasons, userId }) => {
            const profile = profs.get(userId)!
            return categorizer
              .categorize({
                profile,
                employee: staff.get(userId) ?? null,
                neighbours: index.nearest(profileVector(profile, idf), NEIGHBOURS, userId),
                appIdf: idf,
                taxonomy: tenant.settings.taxonomy
              })
              .pipe(
                Effect.map((result): Categorized => ({ result, reasons })),
                Effect.either,
                Effect.tap(() => Effect.sync(() => options.onProgress?.(++done, total)))
              )
          },
          { concurrency: options.concurrency ?? 8 }
        )
        const [failures, successes] = Arr.partitionMap(outcomes, (e) => e)
        // The night's results land together, or not at all.
        const metricRows = yield* sql.withTransaction(
          Effect.gen(function* () {
            const at = new Date()
            yield* Effect.forEach(Arr.chunksOf(successes, 1_000), (chunk) => categories.upsert(chunk, runId, at), { discard: true })
            return yield* metrics.materialize(date, runId)
          })
        ).pipe(Effect.orDie)
        // Readers see today's HR state: a change that became effective today shows from now on.
        yield* employees.refresh()
        const summary: NightlySummary = {
          runId,
          tenant: tenant.id,
          date,
          state: failures.length === 0 ? "READY" : "DEGRADED",
          categorizer: categorizer.name,
          selected: total,
          categorized: successes.length,
          failed: failures.map((f) => ({ userId: f.userId as UserId, reason: f.reason })),
          deferred: selection.deferred.length,
          byReason: countBy(selection.selected, (s): ReadonlyArray<TriggerReason> => s.reasons),
          byCategory: countBy(successes, (s) => [s.result.category]),
          metricRows,
          wallMs: Date.now() - started
        }
        return summary
      })

    const run = Effect.fn("Nightly.run")(function* (options: NightlyOptions) {
      const latest = addDays(isoDate(new Date()), 1)
      if (options.date > latest) {
        return yield* new InvalidRunDate({ date: options.date, message: `Run date ${options.date} is in the future (latest ${latest})` })
      }
      const runId = yield* ledger.start(tenant.id, "nightly", `${tenant.id}:${options.date}`)
      yield* ledger.keepAlive(runId)
      return yield* work(runId, options).pipe(
        Effect.onExit((exit) =>
          Exit.match(exit, {
            onSuccess: (summary) => ledger.finish(runId, summary.state, summary),
            onFailure: (cause) =>
              Cause.isInterruptedOnly(cause)
                ? ledger.finish(runId, "CANCELLED", null, "interrupted")
                : ledger.finish(runId, "FAILED", null, Cause.pretty(cause))
          })
        )
      )
    })

    return { run: (options: NightlyOptions) => Effect.scoped(run(options)) } as const
  }),
  dependencies: [Profiles.Default, Employees.Default, CategoryStore.Default, Metrics.Default, RunLedger.Default]
}) {}
