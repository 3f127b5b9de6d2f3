import {
  addDays,
  CategorizationError,
  CategorizationResult,
  Categorizer,
  inputsHash,
  IsoDate,
  isoDate,
  profileVector,
  TriggerReason,
  UserId
} from "@workcat/core"
import { CurrentTenant } from "@workcat/tenancy"
import { Array as Arr, Effect, Option, Schedule, Schema } from "effect"
import { neighbourIndexFrom } from "../categorizer/Neighbours.js"
import * as Pipeline from "../durable/Pipeline.js"
import { CategoryStore } from "../materialize/CategoryStore.js"
import { NightResults } from "../materialize/NightResults.js"
import { selectCandidates } from "../triggers/TriggerSelection.js"
import { llmBatchPhase } from "./LlmBatchPhase.js"
import { Employees } from "../warehouse/Employees.js"
import { EventWarehouse } from "../warehouse/EventWarehouse.js"

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

/** A user's outcome: the result, what it was computed from, and whether it was reused unchanged. */
const Outcome = Schema.Struct({ result: CategorizationResult, inputsHash: Schema.String, reused: Schema.Boolean })

const Counts = Schema.Record({ key: Schema.String, value: Schema.Int })
const RouteTotals = Schema.Struct({ users: Schema.Int, costUsd: Schema.Number, agreeing: Schema.Int })

/** Tonight's results by route (see `Route`). */
const routeTotals = (results: ReadonlyArray<CategorizationResult>) => {
  const totals: Record<string, typeof RouteTotals.Type> = {}
  for (const { category, route } of results) {
    if (route === undefined) continue
    const t = totals[route.name] ?? { users: 0, costUsd: 0, agreeing: 0 }
    totals[route.name] = { users: t.users + 1, costUsd: t.costUsd + route.costUsd, agreeing: t.agreeing + (route.offlineCategory === category ? 1 : 0) }
  }
  return totals
}

/** What a nightly run reports (counts only: per-person outcomes stay in the tenant's schema). */
export const NightlySummary = Schema.Struct({
  tenant: Schema.String,
  date: Schema.String,
  categorizer: Schema.String,
  selected: Schema.Int,
  categorized: Schema.Int,
  failed: Schema.Int,
  /** Users whose inputs had not changed since their last categorization: the stored result was kept. */
  reused: Schema.optionalWith(Schema.Int, { default: () => 0 }),
  deferred: Schema.Int,
  byReason: Counts,
  byCategory: Counts,
  failureReasons: Counts,
  metricRows: Schema.Int,
  /** The LLM categorizer's routes of tonight's (not reused) results: users, their LLM cost, and how many the LLM put where the offline model did. */
  routes: Schema.optionalWith(Schema.Record({ key: Schema.String, value: RouteTotals }), { default: () => ({}) })
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
 * each (a fan-out, checkpointed per user) from their profile (90 days by default) and nearest
 * categorized colleagues, unless their inputs are unchanged since the last time; materialize
 * categories and metrics together. Windows and thresholds are the tenant's `nightly` settings.
 */
export const NightlyPipeline = Pipeline.make({
  name: "nightly",
  input: NightlyInput,
  output: NightlySummary,
  key: (input) => input.date,
  run: ({ date }) =>
    Effect.gen(function* () {
      const tenant = yield* CurrentTenant
      const warehouse = yield* EventWarehouse
      const employees = yield* Employees
      const categories = yield* CategoryStore
      const categorizer = yield* Categorizer
      const settings = tenant.settings.nightly
      const night = { ...settings, date, anomalyThreshold: tenant.settings.anomalyThreshold }

      const selection = yield* Pipeline.step(
        "select",
        Selection,
        Effect.gen(function* () {
          yield* warehouse.beforeNight
          const found = yield* warehouse.candidates(night)
          // The facts of the candidates page by page: HR events and labels of a few thousand at a time.
          const selected: Array<typeof SelectedUser.Type> = []
          let deferred = 0
          for (const page of Arr.chunksOf(found, 2_000)) {
            const users = page.map((c) => c.userId)
            const [hr, labels] = yield* Effect.all([employees.eventsOf(users), categories.labelsOf(users)])
            const tonight = selectCandidates(
              { date, anomalyThreshold: tenant.settings.anomalyThreshold, triggers: settings },
              page.map((candidate) => ({ candidate, hrEvents: hr.get(candidate.userId) ?? [], label: labels.get(candidate.userId) }))
            )
            selected.push(...tonight.selected)
            deferred += tonight.deferred.length
          }
          return { selected, deferred }
        })
      )

      // The neighbour index, IDF and role centroids, built once per worker from one pass over the window (read-only input, not checkpointed).
      const context = yield* Effect.cached(neighbourIndexFrom(warehouse.appActivity(night)))

      // Each batch of users' profiles, HR state and labels: three queries for the batch.
      const prefetch = (users: ReadonlyArray<UserId>) =>
        Effect.all([warehouse.profiles(night, users), employees.asOf(date, users), categories.labelsOf(users)], { concurrency: "unbounded" })
      type Fetched = Effect.Effect.Success<ReturnType<typeof prefetch>>

      /** A user's categorization input and its hash, or their kept result when the inputs are what they were last time. */
      const prepare = (userId: UserId, [profiles, staff, labels]: Fetched) =>
        Effect.gen(function* () {
          const { idf, index, roleCentroids } = yield* context
          const profile = profiles.get(userId)
          if (profile === undefined) return yield* new CategorizationError({ userId, reason: "no app activity in the profile window" })
          const employee = staff.get(userId) ?? null
          const taxonomy = tenant.settings.taxonomy
          const neighbours = index.nearest(profileVector(profile, idf), settings.neighbours, userId)
          const hash = inputsHash({
            categorizer: categorizer.name,
            taxonomy,
            title: employee?.title ?? null,
            department: employee?.department ?? null,
            profile,
            neighbours
          })
          // Same inputs as last time: the answer would be the same, so keep it rather than pay for it again.
          if (labels.get(userId)?.inputsHash === hash) {
            const stored = yield* categories.result(userId)
            if (Option.isSome(stored)) return { kept: { result: stored.value, inputsHash: hash, reused: true } }
          }
          return { input: { profile, employee, neighbours, appIdf: idf, taxonomy, roleCentroids }, hash }
        })

      yield* llmBatchPhase({
        users: selection.selected.map((s) => s.userId),
        prefetch,
        inputOf: (userId, fetched) =>
          prepare(userId, fetched).pipe(
            Effect.map((p) => ("input" in p ? p.input : undefined)),
            Effect.catchTag("CategorizationError", () => Effect.succeed(undefined))
          )
      })

      const outcomes = yield* Pipeline.fanOut(
        "categorize",
        {
          items: selection.selected,
          key: (s) => s.userId,
          item: SelectedUser,
          output: Outcome,
          retry,
          retryWhile: (e: CategorizationError) => e.retryable === true,
          prefetch: (batch) => prefetch(batch.map((s) => s.userId))
        },
        ({ userId }, fetched) =>
          Effect.gen(function* () {
            const prepared = yield* prepare(userId, fetched)
            if ("kept" in prepared) return prepared.kept
            return { result: yield* categorizer.categorize(prepared.input), inputsHash: prepared.hash, reused: false }
          })
      )

      const summary = yield* Pipeline.step(
        "materialize",
        NightlySummary,
        Effect.gen(function* () {
          const { runId } = yield* Pipeline.RunContext
          const done = outcomes.done.map(({ item, output }) => ({ ...output, reasons: item.reasons }))
          const { metricRows, successes } = yield* Effect.flatMap(NightResults, (results) =>
            results.commit({ runId, windows: night, done })
          )
          // Readers see today's HR state: a change that became effective today shows from now on.
          yield* employees.refreshDue(isoDate(new Date()))
          return {
            tenant: tenant.id,
            date,
            categorizer: categorizer.name,
            selected: selection.selected.length,
            categorized: successes.length,
            failed: outcomes.failed.length,
            reused: successes.filter((s) => s.reused).length,
            deferred: selection.deferred,
            byReason: countBy(selection.selected, (s) => s.reasons),
            byCategory: countBy(successes, (s) => [s.result.category]),
            failureReasons: countBy(outcomes.failed, (f) => [f.reason]),
            metricRows,
            routes: routeTotals(successes.filter((s) => !s.reused).map((s) => s.result))
          } satisfies NightlySummary
        }),
        // It writes the night's results: one worker does it, the others take its checkpoint.
        { exclusive: true }
      )
      // Where the tenant's analysts read them (its BigQuery dataset), if elsewhere than here.
      yield* Pipeline.step(
        "publish",
        Schema.Number,
        Effect.gen(function* () {
          const { runId } = yield* Pipeline.RunContext
          return yield* warehouse.publishResults({ runId, date })
        }),
        { exclusive: true }
      )
      return summary
    })
})
