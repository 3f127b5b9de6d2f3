import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { Bulk } from "@workcat/tenancy"
import { Effect } from "effect"
import { COPY_EVENTS, copyRows } from "../src/warehouse/postgres/EventStore.js"
import { freshTenant, testTenantLayer } from "./support/TestLayers.js"
import { event, warehouseContract } from "./support/WarehouseContract.js"

warehouseContract("PostgreSQL", () => testTenantLayer(freshTenant("wh")))

describe("PostgreSQL event store", () => {
  it.effect("writes COPY rows that read back as the events, whatever characters their text holds", () =>
    Effect.gen(function* () {
      const odd = "tab\there, newline\nthere, return\rthere, backslash\\N and \\t"
      const events = [{ ...event(odd, "u_1", odd, "2026-10-02T09:00:00Z"), country: null, sessionId: null }, event("plain", "u_2", null, "2026-10-03T09:00:00.123Z")]
      yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT ensure_sso_partitions(${["2026-10-02", "2026-10-03"]}::date[])`)
      const { firstDay, lastDay, markedDays, rows } = copyRows(events)
      expect({ firstDay, lastDay, markedDays }).toEqual({ firstDay: "2026-10-02", lastDay: "2026-10-03", markedDays: ["2026-10-02", "2026-10-03"] })
      expect(yield* Effect.flatMap(Bulk, (bulk) => bulk.transaction((tx) => tx.copyFrom(COPY_EVENTS, rows)))).toBe(2)
      const stored = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`
        SELECT provider, event_id AS "eventId", event_type AS "eventType", occurred_at AS "occurredAt", user_id AS "userId", app,
               app_name AS "appName", outcome, auth_steps AS "authSteps", session_id AS "sessionId", country
        FROM sso_events ORDER BY occurred_at`)
      expect(stored).toEqual(events)
    }).pipe(Effect.provide(testTenantLayer(freshTenant("copy")))))
})
