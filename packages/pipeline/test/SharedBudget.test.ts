import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { TenantRegistry } from "@workcat/tenancy"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { PipelineLive } from "../src/app/Layers.js"
import { makeFakeOpenAi } from "./support/FakeOpenAi.js"
import { freshTenant, provision, TestBase, testDatabaseUrl, testMasterKey } from "./support/TestLayers.js"

const CHILD = new URL("./support/budgetChild.ts", import.meta.url).pathname

/** One worker process categorizing `count` users from `first`; its output lines. */
const worker = (tenant: string, url: string, first: number, count: number) =>
  Effect.promise(() =>
    promisify(execFile)(process.execPath, ["--conditions=workcat-source", "--import", "tsx", CHILD, tenant, url, String(first), String(count)], {
      env: { ...process.env, DATABASE_URL: testDatabaseUrl(), WORKCAT_MASTER_KEY: testMasterKey, WORKCAT_HOME: "/nonexistent-workcat-home" },
      timeout: 90_000
    })
  ).pipe(Effect.map(({ stdout }) => stdout.trim().split("\n")))

describe("the monthly LLM budget, shared by processes through the tenant's schema", () => {
  it.scopedLive("keeps three worker processes of one tenant within its budget together, and warns once", () =>
    Effect.gen(function* () {
      const tenant = freshTenant("budget")
      // Less than a tenth of a cent a user (two calls): the budget lasts for about half of the 60.
      const budgetUsd = 0.02
      yield* Effect.flatMap(TenantRegistry, (r) => r.update(tenant, { llm: { monthlyBudgetUsd: budgetUsd, budgetWarnAt: 0.5, concurrency: 4 } })).pipe(
        Effect.provide(provision(tenant))
      )
      const fake = yield* makeFakeOpenAi({ latencyMs: () => 400 })
      const lines = (yield* Effect.all([0, 20, 40].map((first) => worker(tenant, fake.url, first, 20)), { concurrency: 3 })).flat()
      const [spend] = yield* Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql<{ usd: number; calls: number }>`SELECT coalesce(sum(cost_usd), 0)::float8 AS usd, count(*)::int AS calls FROM llm_calls`
      ).pipe(Effect.provide(PipelineLive(tenant)))
      expect(lines.filter((l) => l.startsWith("failed"))).toEqual([])
      expect(lines.filter((l) => l === "ok").length).toBeGreaterThan(0)
      expect(lines.filter((l) => l === "refused").length).toBeGreaterThan(0)
      // Never over, whatever the three did at once; every request the server saw is in the ledger.
      expect(spend!.usd).toBeLessThanOrEqual(budgetUsd)
      expect(spend!.calls).toBe(fake.stats.requests)
      expect(lines.filter((l) => l === "warning")).toHaveLength(1)
    }).pipe(Effect.provide(TestBase)), 120_000)
})
