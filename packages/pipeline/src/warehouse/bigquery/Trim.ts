import * as SqlClient from "@effect/sql/SqlClient"
import { addDays, isoDate } from "@workcat/core"
import { Effect } from "effect"
import { sqlState } from "../../db/SqlErrors.js"
import { partitionDay, partitionsBefore } from "../postgres/EventStore.js"

const LOCK_NOT_AVAILABLE = "55P03"

/**
 * A BigQuery tenant's PostgreSQL keeps only its last days of raw events: this empties the day
 * partitions before today minus `postgresDays` whose every event is in BigQuery and rolled up
 * there (none unexported, no export of the day open, its rollup settled) and holds nobody whose
 * forget is still to be applied there (`bq_erasures`: what PostgreSQL holds of them is what the
 * erasure keeps), with their PostgreSQL rollup rows. Each day in a transaction of its own under an
 * exclusive lock of its partition, taken before the check (`NOWAIT`: a day in use is left for the
 * next time), so an intake writing to it either committed before the check or writes into the
 * empty partition afterwards. The days emptied.
 */
export const trimExported = (postgresDays: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const names = yield* partitionsBefore(addDays(isoDate(new Date()), -postgresDays))
    if (names.length === 0) return 0
    // Which of them still hold rows: one probe of each (an emptied partition answers at once).
    const held = yield* sql.unsafe<{ name: string }>(names.map((name) => `SELECT '${name}' AS name WHERE EXISTS (SELECT 1 FROM "${name}")`).join(" UNION ALL "))
    let emptied = 0
    for (const { name } of held) {
      const day = partitionDay(name)
      const done = yield* Effect.gen(function* () {
        yield* sql`LOCK TABLE ${sql(name)} IN ACCESS EXCLUSIVE MODE NOWAIT`
        const [open] = yield* sql<{ open: boolean }>`
          SELECT EXISTS (SELECT 1 FROM ${sql(name)} WHERE exported_job IS NULL)
              OR EXISTS (SELECT 1 FROM bq_exports WHERE state <> 'done' AND ${day}::date = ANY(days))
              OR EXISTS (SELECT 1 FROM rollup_dirty WHERE day = ${day}::date)
              OR EXISTS (SELECT 1 FROM ${sql(name)} e JOIN bq_erasures q USING (user_id)) AS open`
        if (open?.open !== false) return false
        yield* sql`TRUNCATE ${sql(name)}`
        yield* sql`DELETE FROM user_app_daily WHERE day = ${day}::date`
        return true
      }).pipe(
        sql.withTransaction,
        Effect.catchIf((e) => sqlState(e) === LOCK_NOT_AVAILABLE, () => Effect.succeed(false))
      )
      if (done) emptied++
    }
    return emptied
  }).pipe(Effect.withSpan("BigQuery.trimExported", { attributes: { postgresDays } }))
