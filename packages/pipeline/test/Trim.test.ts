import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { addDays, isoDate } from "@workcat/core"
import { Deferred, Effect, Fiber } from "effect"
import { trimExported } from "../src/warehouse/bigquery/Trim.js"
import { EventWarehouse } from "../src/warehouse/EventWarehouse.js"
import { freshTenant, testTenantLayer } from "./support/TestLayers.js"
import { event } from "./support/WarehouseContract.js"

const old = addDays(isoDate(new Date()), -30)
const recent = addDays(isoDate(new Date()), -2)

/**
 * A tenant's PostgreSQL holding events of an old day and a recent one, rolled up, and (unless
 * told otherwise) every one exported by a done export: what `trimExported` empties or keeps.
 */
const seeded = (state: { readonly exportState?: "pending" | "loaded" | "done" | "none"; readonly settled?: boolean } = {}) =>
  Effect.gen(function* () {
    const w = yield* EventWarehouse
    const sql = yield* SqlClient.SqlClient
    yield* w.append([event("a", "u_1", "github", `${old}T09:00:00Z`), event("b", "u_2", "jira", `${recent}T09:00:00Z`)])
    if (state.settled !== false) yield* w.settle
    const exportState = state.exportState ?? "done"
    if (exportState !== "none") {
      yield* sql`UPDATE sso_events SET exported_job = 'job-1'`
      yield* sql`INSERT INTO bq_exports (job_id, days, rows, state) VALUES ('job-1', ${[old, recent]}::date[], 2, ${exportState})`
    }
    return sql
  })

const eventIds = (sql: SqlClient.SqlClient) => Effect.map(sql<{ id: string }>`SELECT event_id AS id FROM sso_events ORDER BY 1`, (rows) => rows.map((r) => r.id))

describe("emptying the days a BigQuery tenant's PostgreSQL no longer keeps", () => {
  it.effect("empties an old day once all of it is exported and rolled up there, with its rollup, and keeps the last days", () =>
    Effect.gen(function* () {
      const sql = yield* seeded()
      expect(yield* trimExported(7)).toBe(1)
      expect(yield* eventIds(sql)).toEqual(["b"])
      expect(yield* sql`SELECT user_id FROM user_app_daily`).toEqual([{ user_id: "u_2" }])
      expect(yield* trimExported(7)).toBe(0) // an emptied day is not emptied again
    }).pipe(Effect.provide(testTenantLayer(freshTenant("trim")))))

  it.effect("keeps a day holding an event not exported yet", () =>
    Effect.gen(function* () {
      const sql = yield* seeded({ exportState: "none" })
      expect(yield* trimExported(7)).toBe(0)
      expect(yield* eventIds(sql)).toEqual(["a", "b"])
    }).pipe(Effect.provide(testTenantLayer(freshTenant("trim")))))

  it.effect("keeps a day whose export is claimed or loaded but not rolled up in BigQuery", () =>
    Effect.gen(function* () {
      const sql = yield* seeded({ exportState: "loaded" })
      expect(yield* trimExported(7)).toBe(0)
      yield* sql`UPDATE bq_exports SET state = 'pending'`
      expect(yield* trimExported(7)).toBe(0)
      expect(yield* eventIds(sql)).toEqual(["a", "b"])
    }).pipe(Effect.provide(testTenantLayer(freshTenant("trim")))))

  it.effect("keeps a day whose rollup is not settled", () =>
    Effect.gen(function* () {
      const sql = yield* seeded({ settled: false })
      expect(yield* trimExported(7)).toBe(0)
      expect(yield* eventIds(sql)).toEqual(["a", "b"])
    }).pipe(Effect.provide(testTenantLayer(freshTenant("trim")))))

  it.effect("keeps a day holding someone whose forget is still to be applied in BigQuery", () =>
    Effect.gen(function* () {
      const sql = yield* seeded()
      yield* sql`INSERT INTO bq_erasures (user_id) VALUES ('u_1')`
      expect(yield* trimExported(7)).toBe(0)
      expect(yield* eventIds(sql)).toEqual(["a", "b"])
    }).pipe(Effect.provide(testTenantLayer(freshTenant("trim")))))

  it.live("leaves a day another transaction is using, without waiting for it", () =>
    Effect.gen(function* () {
      const sql = yield* seeded()
      const holding = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      // A reader of the old day's partition, in a transaction that stays open.
      const reader = yield* Effect.gen(function* () {
        yield* sql`SELECT count(*) FROM sso_events WHERE occurred_at >= ${`${old}T00:00:00Z`}::timestamptz AND occurred_at < ${`${old}T23:59:59Z`}::timestamptz`
        yield* Deferred.succeed(holding, undefined)
        yield* Deferred.await(release)
      }).pipe(sql.withTransaction, Effect.fork)
      yield* Deferred.await(holding)
      expect(yield* trimExported(7)).toBe(0)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(reader)
      expect(yield* trimExported(7)).toBe(1)
    }).pipe(Effect.provide(testTenantLayer(freshTenant("trim")))))
})
