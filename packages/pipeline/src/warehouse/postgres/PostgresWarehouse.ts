import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { UserId } from "@workcat/core"
import { Array as Arr, Effect, Layer } from "effect"
import { refusesData, sqlState } from "../../db/SqlErrors.js"
import { EventWarehouse, ValuesRefused, WarehouseError } from "../EventWarehouse.js"
import { WindowSource } from "../WindowSource.js"
import { EventStore } from "./EventStore.js"
import { NightQueries } from "./Night.js"
import { WindowSums } from "./WindowSums.js"

/** A refused value is the rows' fault; anything else is the warehouse's. */
const refusal = (e: SqlError) => (refusesData(e) ? new ValuesRefused({ code: sqlState(e) ?? "" }) : new WarehouseError({ cause: e }))
const failure = (e: SqlError) => new WarehouseError({ cause: e })

/**
 * The warehouse's columns holding pseudonyms: users' (`u_`) and sessions' (`s_`), which forget
 * deletes by user and key rotation re-keys, and forgets not yet applied in BigQuery (`u_`), which
 * key rotation re-keys with the rows they are to delete there.
 */
export const WAREHOUSE_PSEUDONYMS = {
  user: [
    { table: "sso_events", column: "user_id" },
    { table: "user_app_daily", column: "user_id" },
    { table: "users_seen", column: "user_id" }
  ],
  session: [{ table: "sso_events", column: "session_id" }],
  erasure: [{ table: "bq_erasures", column: "user_id" }]
} as const

/**
 * The event warehouse in the tenant's PostgreSQL schema: day-partitioned `sso_events` and the `user_app_daily` rollup. */
export const makePostgresWarehouse = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const store = yield* EventStore
  const night = yield* NightQueries
  const sums = yield* WindowSums

  const usersWithActivity = (users: ReadonlyArray<UserId>) =>
    Effect.gen(function* () {
      const present = new Set<UserId>()
      for (const chunk of Arr.chunksOf(users, 5_000)) {
        // The rollup's users (kept there longer than its days may be: see 0010_users_seen).
        const rows = yield* sql<{ userId: UserId }>`SELECT user_id AS "userId" FROM users_seen WHERE user_id = ANY(${chunk}::text[])`
        for (const r of rows) present.add(r.userId)
      }
      return present as ReadonlySet<UserId>
    }).pipe(Effect.orDie, Effect.withSpan("PostgresWarehouse.usersWithActivity"))

  // Each is one transaction, or a savepoint of the caller's (Privacy's, under its key-version lock).
  const forget = (userId: UserId) =>
    Effect.gen(function* () {
      const deleted: Record<string, number> = {}
      for (const { column, table } of WAREHOUSE_PSEUDONYMS.user) {
        deleted[table] = (yield* sql`DELETE FROM ${sql(table)} WHERE ${sql(column)} = ${userId} RETURNING 1`).length
      }
      yield* sums.forget(userId)
      return deleted
    }).pipe(sql.withTransaction, Effect.orDie, Effect.withSpan("PostgresWarehouse.forget"))

  /** Key rotation of the tenant's schema: the distinct values re-keyed (a BigQuery tenant's counts them with the dataset's). */
  const rekeyHere = (next: (old: string) => string) =>
    Effect.gen(function* () {
      yield* sums.dropAll
      const all = new Set<string>()
      for (const [kind, columns] of Object.entries(WAREHOUSE_PSEUDONYMS)) {
        const ids = yield* sql.unsafe<{ id: string }>(
          `SELECT DISTINCT id FROM (${columns.map((c) => `SELECT ${c.column} AS id FROM ${c.table}`).join(" UNION ALL ")}) ids WHERE id IS NOT NULL`
        )
        if (ids.length === 0) continue
        const map = `warehouse_rekey_${kind}`
        yield* sql`CREATE TEMP TABLE ${sql(map)} (old text PRIMARY KEY, new text NOT NULL) ON COMMIT DROP`
        yield* sql`INSERT INTO ${sql(map)} SELECT * FROM unnest(${ids.map((r) => r.id)}::text[], ${ids.map((r) => next(r.id))}::text[])`
        for (const c of columns) {
          yield* sql`UPDATE ${sql(c.table)} t SET ${sql(c.column)} = m.new FROM ${sql(map)} m WHERE t.${sql(c.column)} = m.old`
        }
        for (const { id } of ids) all.add(id)
      }
      return all as ReadonlySet<string>
    }).pipe(sql.withTransaction, Effect.orDie, Effect.withSpan("PostgresWarehouse.rekey"))
  const warehouse = {
    append: (events) => store.insert(events).pipe(Effect.mapError(refusal)),
    knownDays: store.hasDay,
    prepareDays: (days) => store.ensureDays(days).pipe(Effect.mapError(failure)),
    settle: store.settle,
    settleBefore: store.settleBefore,
    dropBefore: store.dropBefore,
    profiles: night.profiles,
    candidates: night.candidates,
    appActivity: night.appActivity,
    groupTotals: night.groupTotals,
    usersWithActivity,
    forget,
    rekey: (next) => Effect.map(rekeyHere(next), (ids) => ids.size),
    beforeNight: Effect.void,
    // The labels and metrics are in the tenant's schema already, where the API reads them.
    publishResults: () => Effect.succeed(0)
  } satisfies EventWarehouse["Type"]
  return { warehouse, rekeyHere } as const
})

export const PostgresWarehouseLive = Layer.effect(EventWarehouse, Effect.map(makePostgresWarehouse, (p) => p.warehouse))

/** The night's window sums are built in place from the tenant's PostgreSQL rollup. */
export const PostgresWindowSourceLive = Layer.effect(
  WindowSource,
  Effect.map(EventStore, (store) => ({ settle: store.settle, sums: null }))
)
