import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import type { AppKey, CategoryId, IsoDate, UserId } from "@workcat/core"
import { Effect } from "effect"
import { NightResults } from "../src/materialize/NightResults.js"
import { EventWarehouse } from "../src/warehouse/EventWarehouse.js"
import { freshTenant, testTenantLayer } from "./support/TestLayers.js"

const result = (userId: string) => ({
  result: {
    userId: userId as UserId,
    category: "backend_engineering" as CategoryId,
    confidence: 0.9,
    explanation: "test",
    recommendations: [],
    evidenceApps: [],
    alternatives: [],
    categorizer: "test"
  },
  reasons: ["uncategorized" as const],
  inputsHash: "h"
})

describe("the night's results", () => {
  it.effect("are stored for people still there, not for a person forgotten while the run categorized them", () =>
    Effect.gen(function* () {
      const warehouse = yield* EventWarehouse
      yield* warehouse.append([
        {
          eventId: "a",
          provider: "okta",
          eventType: "user.authentication.sso",
          occurredAt: new Date("2026-11-20T09:00:00Z"),
          userId: "u_present" as UserId,
          app: "github" as AppKey,
          appName: "GitHub",
          outcome: "SUCCESS",
          authSteps: 1,
          sessionId: null,
          country: null
        }
      ])
      yield* warehouse.settle
      const night = {
        runId: "00000000-0000-4000-8000-000000000001",
        windows: { date: "2026-11-23" as IsoDate, profileWindowDays: 90, recentWindowDays: 14, metricsWindowDays: 28 }
      }
      const { successes } = yield* Effect.flatMap(NightResults, (r) => r.commit({ ...night, done: [result("u_present"), result("u_forgotten")] }))
      expect(successes.map((s) => s.result.userId)).toEqual(["u_present"])
      const sql = yield* SqlClient.SqlClient
      expect(yield* sql`SELECT user_id FROM work_categories ORDER BY 1`).toEqual([{ user_id: "u_present" }])
    }).pipe(Effect.provide(testTenantLayer(freshTenant("night")))))
})
