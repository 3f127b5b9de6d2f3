import * as SqlClient from "@effect/sql/SqlClient"
import { CategorizationResult, type CategoryId, type TriggerReason, type UserId } from "@workcat/core"
import { Effect, Option, Schema } from "effect"

/** A user's stored category, with what HR says of them, as the API lists it. */
export interface CategoryRow {
  readonly userId: UserId
  readonly category: CategoryId
  readonly confidence: number
  readonly explanation: string
  readonly recommendations: ReadonlyArray<string>
  readonly evidenceApps: ReadonlyArray<string>
  readonly reasons: ReadonlyArray<TriggerReason>
  readonly categorizer: string
  readonly categorizedAt: Date
  readonly title: string | null
  readonly department: string | null
  readonly team: string | null
}

export interface CategoryFilter {
  readonly department?: string | undefined
  readonly category?: string | undefined
  readonly offset: number
  readonly limit: number
}

export interface Categorized {
  readonly result: CategorizationResult
  readonly reasons: ReadonlyArray<TriggerReason>
  /** What the result was computed from (see `inputsHash`). */
  readonly inputsHash: string
}

/** What `labels` knows of each categorized user. */
export interface Label {
  readonly category: CategoryId
  readonly categorizedAt: Date
  readonly inputsHash: string | null
}

/** `work_categories`: the latest category of each user. */
export class CategoryStore extends Effect.Service<CategoryStore>()("workcat/CategoryStore", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const labels = Effect.fn("CategoryStore.labels")(function* () {
      const rows = yield* sql<Label & { userId: UserId }>`
        SELECT user_id AS "userId", category, categorized_at AS "categorizedAt", inputs_hash AS "inputsHash"
        FROM work_categories`
      return new Map(rows.map((r) => [r.userId, r])) as ReadonlyMap<UserId, Label>
    }, Effect.orDie)

    /** What is known of these users' labels (the uncategorized are absent). */
    const labelsOf = Effect.fn("CategoryStore.labelsOf")(function* (users: ReadonlyArray<UserId>) {
      const rows = users.length === 0 ? [] : yield* sql<Label & { userId: UserId }>`
        SELECT user_id AS "userId", category, categorized_at AS "categorizedAt", inputs_hash AS "inputsHash"
        FROM work_categories WHERE user_id = ANY(${users}::text[])`
      return new Map(rows.map((r) => [r.userId, r])) as ReadonlyMap<UserId, Label>
    }, Effect.orDie)

    /** A user's stored result, as the categorizer returned it. */
    const result = Effect.fn("CategoryStore.result")(function* (userId: UserId) {
      const rows = yield* sql`
        SELECT user_id AS "userId", category, confidence, explanation, recommendations,
               evidence_apps AS "evidenceApps", alternatives, categorizer
        FROM work_categories WHERE user_id = ${userId}`
      return rows.length === 0 ? Option.none() : Option.some(yield* Schema.decodeUnknown(CategorizationResult)(rows[0]))
    }, Effect.orDie)

    const upsert = Effect.fn("CategoryStore.upsert")(function* (items: ReadonlyArray<Categorized>, runId: string, at: Date) {
      if (items.length === 0) return
      const rows = items.map(({ inputsHash, reasons, result: r }) => ({
        user_id: r.userId,
        category: r.category,
        confidence: r.confidence,
        explanation: r.explanation,
        recommendations: JSON.stringify(r.recommendations),
        evidence_apps: JSON.stringify(r.evidenceApps),
        alternatives: JSON.stringify(r.alternatives),
        reasons: JSON.stringify(reasons),
        categorizer: r.categorizer,
        route: r.route?.name ?? null,
        run_id: runId,
        categorized_at: at,
        inputs_hash: inputsHash
      }))
      yield* sql`
        INSERT INTO work_categories ${sql.insert(rows)}
        ON CONFLICT (user_id) DO UPDATE SET category = excluded.category, confidence = excluded.confidence,
          explanation = excluded.explanation, recommendations = excluded.recommendations,
          evidence_apps = excluded.evidence_apps, alternatives = excluded.alternatives, reasons = excluded.reasons,
          categorizer = excluded.categorizer, run_id = excluded.run_id,
          -- A result kept for unchanged inputs keeps the route it was made by.
          route = CASE WHEN excluded.route IS NULL AND excluded.inputs_hash = work_categories.inputs_hash THEN work_categories.route ELSE excluded.route END, categorized_at = excluded.categorized_at,
          inputs_hash = excluded.inputs_hash`
    }, Effect.orDie)

    const page = Effect.fn("CategoryStore.page")(function* (filter: CategoryFilter) {
      const where = sql.and([
        ...(filter.department !== undefined ? [sql`e.department = ${filter.department}`] : []),
        ...(filter.category !== undefined ? [sql`c.category = ${filter.category}`] : [])
      ])
      const [items, count] = yield* Effect.all(
        [
          sql<CategoryRow>`
            SELECT c.user_id AS "userId", c.category, c.confidence, c.explanation, c.recommendations,
                   c.evidence_apps AS "evidenceApps", c.reasons, c.categorizer, c.categorized_at AS "categorizedAt",
                   e.title, e.department, e.team
            FROM work_categories c LEFT JOIN employees e USING (user_id)
            WHERE ${where}
            ORDER BY c.user_id LIMIT ${filter.limit} OFFSET ${filter.offset}`,
          sql<{ total: number }>`
            SELECT count(*)::int AS total FROM work_categories c LEFT JOIN employees e USING (user_id) WHERE ${where}`
        ],
        { concurrency: 2 }
      )
      return { items, total: count[0]?.total ?? 0 }
    }, Effect.orDie)

    return { labels, labelsOf, result, upsert, page } as const
  })
}) {}
