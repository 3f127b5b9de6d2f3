import { describe, expect, it } from "@effect/vitest"
import { freshTenant } from "@workcat/pipeline/testing"
import { ControlSql } from "@workcat/tenancy"
import { Effect, TestClock } from "effect"
import { call, seedTenant, serverLayer, token } from "./support.js"

const tenant = freshTenant("read")

describe("the read path under load", () => {
  // One token drives every request: its rate limit is lifted.
  it.layer(serverLayer([], { WORKCAT_API_RATE_LIMIT: "1000000" }), { timeout: 120_000 })((it) => {
    it.effect("audits every one of many concurrent reads, in shared inserts", () =>
      Effect.gen(function* () {
        yield* seedTenant(tenant)
        const analyst = yield* token(tenant, "analyst")
        const reads = 200
        const answers = yield* Effect.all(
          Array.from({ length: reads }, () => call("GET", `/api/v1/tenants/${tenant}/categories?pageSize=5`, { token: analyst })),
          { concurrency: reads }
        )
        expect(answers.every((a) => a.status === 200)).toBe(true)
        const sql = yield* ControlSql
        // An entry per read, none lost; entries inserted together share their transaction's time.
        const [row] = yield* sql<{ entries: number; inserts: number }>`
          SELECT count(*)::int AS entries, count(DISTINCT at)::int AS inserts FROM audit_log WHERE tenant = ${tenant} AND action = 'categories.read'`
        expect(row!.entries).toBe(reads)
        expect(row!.inserts).toBeLessThan(reads)
      }))

    it.effect("never serves an answer read for one tenant to another tenant's token", () =>
      Effect.gen(function* () {
        const other = freshTenant("read")
        yield* seedTenant(other)
        const [mine, theirs] = [yield* token(tenant, "analyst"), yield* token(other, "analyst")]
        for (const path of [`/api/v1/tenants/${other}/metrics/productivity?groupBy=department`, `/api/v1/tenants/${other}/categories?pageSize=5`]) {
          expect((yield* call("GET", path, { token: theirs })).status).toBe(200) // the answer is now reused for a second
          expect((yield* call("GET", path, { token: mine })).status).toBe(404)
        }
      }))

    it.effect("serves a new night's metrics within a second of their writing", () =>
      Effect.gen(function* () {
        const analyst = yield* token(tenant, "analyst")
        const path = `/api/v1/tenants/${tenant}/metrics/productivity?groupBy=department`
        const before = yield* call("GET", path, { token: analyst })
        expect(before.status).toBe(200)
        const sql = yield* ControlSql
        // A night of a later date writes its snapshot (another process's, as far as this server knows).
        yield* sql.unsafe(`
          INSERT INTO tenant_${tenant}.productivity_metrics
          SELECT as_of + 1, group_by, group_value, window_days, employees, active_days, accesses, avg_auth_step, distinct_apps_per_day,
                 auth_waste_hours, context_switch_waste_hours, waste_hours_per_employee_week, run_id
          FROM tenant_${tenant}.productivity_metrics WHERE as_of = (SELECT max(as_of) FROM tenant_${tenant}.productivity_metrics)`)
        yield* TestClock.adjust("1100 millis")
        const after = yield* call("GET", path, { token: analyst })
        expect(Date.parse(after.body.asOf) - Date.parse(before.body.asOf)).toBe(86_400_000)
      }))
  })
})
