import * as SqlClient from "@effect/sql/SqlClient"
import {
  addDays,
  CategorizationError,
  CategorizationResult,
  Categorizer,
  inverseDocumentFrequency,
  IsoDate,
  isoDate,
  profileVector,
  TriggerReason,
  UserId
} from "@workcat/core"
import { CurrentTenant } from "@workcat/tenancy"
import { Array as Arr, Effect, Schedule, Schema } from "effect"
import { makeNeighbourIndex } from "../categorizer/Neighbours.js"
import * as Pipeline from "../ledger/Pipeline.js"
import { CategoryStore } from "../materialize/CategoryStore.js"
import { Metrics } from "../materialize/Metrics.js"
import { selectForRun } from "../triggers/TriggerSelection.js"
import { Employees } from "../warehouse/Employees.js"
import { Profiles, windowEnding } from "../warehouse/Profiles.js"
import { PROFILE_WINDOW_DAYS } from "./Window.js"

/** Neighbours offered to the categorizer per user. */
const NEIGHBOURS = 20

/** A run date: not after tomorrow (nothing to categorize yet, and it would become the "latest" snapshot). */
export const RunDate = IsoDate.pipe(
  Schema.filter((date) => date <= addDays(isoDate(new Date()), 1), {
    message: (issue) => `run date ${String(issue.actual)} is in the future`
  })
)

export const NightlyInput = Schema.Struct({ date: RunDate })
export type NightlyInput = typeof NightlyInput.Type

const SelectedUser = Schema.Struct({ userId: UserId, reasons: Schema.Array(TriggerReason) })
const Selection = Schema.Struct({ selected: Schema.Array(SelectedUser), deferred: Schema.Int })

const Counts = Schema.Record({ key: Schema.String, value: Schema.Int })

/** What a nightly run reports (counts only: per-person outcomes stay in the tenant's schema). */
export const NightlySummary = Schema.Struct({
  tenant: Schema.String,
  date: Schema.String,
  categorizer: Schema.String,
  selected: Schema.Int,
  categorized: Schema.Int,
  failed: Schema.Int,
  deferred: Schema.Int,
  byReason: Counts,
  byCategory: Counts,
  failureReasons: Counts,
  metricRows: Schema.Int
})
export type NightlySummary = typeof NightlySummary.Type

const countBy = <A>(items: Iterable<A>, key: (a: A) => Iterable<string>): Record<string, number> => {
  const counts: Record<string, number> = {}
  for (const item of items) for (const k of key(item)) counts[k] = (counts[k] ?? 0) + 1
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)))
}

/** Categorization attempts retried on transient errors: 3 attempts, exponential with jitter. */
const retry = Schedule.exponential("200 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(2)))

/**
 * The nightly job of one tenant, as three durable stages: select the triggered users; categorize
 * each (a fan-out, checkpointed per user) from their 90-day profile and nearest categorized
 * colleagues; materialize categories and metrics together.
 */
export const NightlyPipeline = Pipeline.make({
  name: "nightly",
  input: NightlyInput,
  output: NightlySummary,
  key: (input) => input.date,
  run: ({ date }) =>
    Effect.gen(function* () {
      const tenant = yield* CurrentTenant
      const profiles = yield* Profiles
      const employees = yield* Employees
      const categories = yield* CategoryStore
      const categorizer = yield* Categorizer
      const window = windowEnding(date, PROFILE_WINDOW_DAYS)

      const selection = yield* Pipeline.step(
        "select",
        Selection,
        Effect.gen(function* () {
          const [profs, staff, labels] = yield* Effect.all([profiles.load(window), employees.asOf(date), categories.labels()], {
            concurrency: 3
          })
          const { deferred, selected } = selectForRun({ date, profiles: profs, employees: staff, labels })
          return { selected, deferred: deferred.length }
        })
      )

      // What categorizing needs, loaded once per worker (not checkpointed: it is read-only input).
      const context = yield* Effect.cached(
        Effect.gen(function* () {
          const [profs, staff, labels] = yield* Effect.all([profiles.load(window), employees.asOf(date), categories.labels()], {
            concurrency: 3
          })
          const idf = inverseDocumentFrequency(profs.values())
          const index = makeNeighbourIndex(
            [...labels].flatMap(([userId, l]) => {
              const p = profs.get(userId)
              return p ? [{ userId, category: l.category, vector: profileVector(p, idf) }] : []
            })
          )
          return { profs, staff, idf, index }
        })
      )

      const outcomes = yield* Pipeline.fanOut(
        "categorize",
        {
          items: selection.selected,
          key: (s) => s.userId,
          item: SelectedUser,
          output: CategorizationResult,
          retry,
          retryWhile: (e: CategorizationError) => e.retryable === true
        },
        ({ userId }) =>
          Effect.gen(function* () {
            const { idf, index, profs, staff } = yield* context
            const profile = profs.get(userId)
            if (profile === undefined) return yield* new CategorizationError({ userId, reason: "no app activity in the profile window" })
            return yield* categorizer.categorize({
              profile,
              employee: staff.get(userId) ?? null,
              neighbours: index.nearest(profileVector(profile, idf), NEIGHBOURS, userId),
              appIdf: idf,
              taxonomy: tenant.settings.taxonomy
            })
          })
      )

      return yield* Pipeline.step(
        "materialize",
        NightlySummary,
        Effect.gen(function* () {
          const { runId } = yield* Pipeline.RunContext
          const sql = yield* SqlClient.SqlClient
          const metrics = yield* Metrics
          const successes = outcomes.done.map(({ item, output }) => ({ result: output, reasons: item.reasons }))
          // The night's results land together, or not at all.
          const metricRows = yield* sql
            .withTransaction(
              Effect.gen(function* () {
                const at = new Date()
                yield* Effect.forEach(Arr.chunksOf(successes, 1_000), (chunk) => categories.upsert(chunk, runId, at), { discard: true })
                return yield* metrics.materialize(date, runId)
              })
            )
            .pipe(Effect.orDie)
          // Readers see today's HR state: a change that became effective today shows from now on.
          yield* employees.refresh()
          return {
            tenant: tenant.id,
            date,
            categorizer: categorizer.name,
            selected: selection.selected.length,
            categorized: successes.length,
            failed: outcomes.failed.length,
            deferred: selection.deferred,
            byReason: countBy(selection.selected, (s) => s.reasons),
            byCategory: countBy(successes, (s) => [s.result.category]),
            failureReasons: countBy(outcomes.failed, (f) => [f.reason]),
            metricRows
          } satisfies NightlySummary
        })
      )
    })
})
