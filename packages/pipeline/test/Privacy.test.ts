import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import type { IsoDate } from "@workcat/core"
import { ControlSql, CurrentTenant, type TenantId } from "@workcat/tenancy"
import { Cause, Effect, Layer } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Evaluator } from "../src/eval/Evaluate.js"
import { HrIngest } from "../src/ingest/HrIngest.js"
import { Ingest } from "../src/ingest/Ingest.js"
import { fileValues } from "../src/ingest/Framing.js"
import { PipelineLive } from "../src/app/Layers.js"
import { runNightly } from "../src/nightly/RunNightly.js"
import { Privacy } from "../src/privacy/Privacy.js"
import { CHECKPOINT_COLUMNS, forgetKey, PSEUDONYM_COLUMNS } from "../src/privacy/PseudonymousData.js"
import { generate, type GeneratedFiles } from "../src/synthetic/Generate.js"
import { PLACES } from "../src/synthetic/Names.js"
import { freshTenant, TestRuntime, testTenantLayer } from "./support/TestLayers.js"

const end = "2026-11-23" as IsoDate

const seed = (tenant: TenantId, employees = 60) =>
  Effect.gen(function* () {
    const files = yield* generate({ tenant, employees, days: 30, seed: "privacy", end, out: mkdtempSync(join(tmpdir(), "workcat-privacy-")), malformedRate: 0.01 })
    yield* Effect.flatMap(HrIngest, (h) => h.records(fileValues(files.hr), { source: files.hr }))
    yield* Effect.flatMap(Ingest, (i) => i.events("okta", fileValues(files.events), { source: files.events }))
    yield* runNightly(tenant, end)
    return files
  })

const truth = (files: GeneratedFiles) =>
  readFileSync(files.truth, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { login: string; category: string })

/** Every row of every table in the tenant's schema and the control plane, as text. */
const dumpDatabase = (tenant: TenantId) =>
  Effect.gen(function* () {
    const control = yield* ControlSql
    const tables = yield* control<{ schema: string; table: string }>`
      SELECT table_schema AS schema, table_name AS table FROM information_schema.tables
      WHERE table_schema IN ('workcat', ${`tenant_${tenant}`}) AND table_type = 'BASE TABLE'`
    const dumps = yield* Effect.forEach(tables, ({ schema, table }) =>
      control.unsafe<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM "${schema}"."${table}" t`)
    )
    return { tables: tables.length, text: dumps.flat().map((r) => r.row).join("\n") }
  })

describe("privacy", () => {
  it.effect("no login, name or IP address of the input is stored anywhere", () =>
    Effect.gen(function* () {
      const tenant = (yield* CurrentTenant).id
      const files = yield* seed(tenant)
      const hr = readFileSync(files.hr, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { login: string; name: string })
      const { tables, text } = yield* dumpDatabase(tenant)
      expect(tables).toBeGreaterThanOrEqual(9)
      const lower = text.toLowerCase()
      for (const person of hr) {
        expect(lower).not.toContain(person.login.toLowerCase())
        expect(lower).not.toContain(person.name.toLowerCase())
      }
      for (const place of PLACES) expect(text).not.toContain(place.ip)
      expect(text).not.toMatch(/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/)
    }).pipe(Effect.provide(testTenantLayer(freshTenant("scan")))), 120_000)

  it.effect("every pseudonym column of the tenant schema, checkpoints included, is known to forget and key rotation", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const columns = yield* sql<{ table: string; column: string }>`
        SELECT table_name AS table, column_name AS column FROM information_schema.columns
        WHERE table_schema = current_schema()
          AND (column_name IN ('user_id', 'session_id', 'item_key', 'manager_id', 'employee_ref', 'record_hash') OR data_type = 'jsonb')
        ORDER BY 1, 2`
      // jsonb columns that never hold a pseudonym: a category's texts, app keys and reasons; a collected LLM batch's counts.
      const withoutPseudonyms = [
        ...["recommendations", "evidence_apps", "alternatives", "reasons"].map((column) => ({ table: "work_categories", column })),
        { table: "llm_batches", column: "outcome" }
      ]
      const known = [...Object.values(PSEUDONYM_COLUMNS).flat(), ...CHECKPOINT_COLUMNS, ...withoutPseudonyms].map((c) => ({
        table: c.table,
        column: c.column
      }))
      expect(columns).toEqual(expect.arrayContaining(known))
      expect(columns).toHaveLength(known.length)
    }).pipe(Effect.provide(testTenantLayer(freshTenant("cols")))))

  it.effect("forget removes one person everywhere and nobody else", () =>
    Effect.gen(function* () {
      const tenant = yield* CurrentTenant
      const files = yield* seed(tenant.id)
      const sql = yield* SqlClient.SqlClient
      // The population depends on the tenant's (random) name: take whoever was most active.
      const active = new Map((yield* sql<{ userId: string; n: number }>`
        SELECT user_id AS "userId", count(*)::int AS n FROM sso_events GROUP BY 1`).map((r) => [r.userId, r.n]))
      const person = truth(files)
        .map((t) => t.login)
        .reduce((a, b) => ((active.get(tenant.pseudonyms.user(b)) ?? 0) > (active.get(tenant.pseudonyms.user(a)) ?? 0) ? b : a))
      const userId = tenant.pseudonyms.user(person)
      const count = (id: string | null) =>
        Effect.forEach(PSEUDONYM_COLUMNS.user, ({ column, table }) =>
          sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(table)} WHERE ${id === null ? sql`${sql(column)} IS NOT NULL` : sql`${sql(column)} = ${id}`}`.pipe(
            Effect.map(([r]) => r!.n)
          )
        )
      const before = yield* count(null)
      const theirs = yield* count(userId)
      expect(theirs.reduce((a, b) => a + b)).toBeGreaterThan(10)
      const checkpoints = sql<{ n: number }>`
        SELECT (SELECT count(*) FROM run_items WHERE item_key = ${userId})
             + (SELECT count(*) FROM run_stages WHERE strpos(result::text, ${userId}) > 0) AS n`
      expect(Number((yield* checkpoints)[0]!.n)).toBeGreaterThanOrEqual(2)
      const result = yield* Effect.flatMap(Privacy, (p) => p.forget(person))
      expect(PSEUDONYM_COLUMNS.user.map((c) => result.deleted[forgetKey(c)])).toEqual(theirs)
      expect(result.deleted.run_items).toBeGreaterThanOrEqual(1)
      expect(Number((yield* checkpoints)[0]!.n)).toBe(0)
      expect(yield* count(userId)).toEqual(theirs.map(() => 0))
      expect(yield* count(null)).toEqual(before.map((n, i) => n - theirs[i]!))
      expect(JSON.stringify(result)).not.toMatch(/@|u_[0-9a-f]{32}/)
    }).pipe(Effect.provide(testTenantLayer(freshTenant("forget")))), 120_000)
})

describe("key rotation", () => {
  const tenant = freshTenant("rotate")
  /** A tenant layer built now: it reads the key version the tenant is at. */
  const fresh = () => Layer.fresh(PipelineLive(tenant)).pipe(Layer.provideMerge(TestRuntime))

  it.effect("re-keys every stored pseudonym; joins, evaluation and idempotent re-ingest survive", () =>
    Effect.gen(function* () {
      const files = yield* seed(tenant)
      const sql = yield* SqlClient.SqlClient
      const ids = sql<{ id: string }>`SELECT user_id AS id FROM work_categories ORDER BY 1`
      const before = yield* ids
      const accuracy = (yield* Effect.flatMap(Evaluator, (e) => e.fromFile(files.truth))).overall
      const stale = yield* Layer.build(fresh())

      const rotated = yield* Effect.flatMap(Privacy, (p) => p.rotateKey())
      expect(rotated.keyVersion).toBe(1)
      const after = yield* ids
      expect(after).toHaveLength(before.length)
      // The checkpoints held the old pseudonyms: gone, so no retry can bring them back.
      expect(yield* sql`SELECT 1 FROM run_items UNION ALL SELECT 1 FROM run_stages`).toEqual([])
      expect(after.filter((r) => before.some((b) => b.id === r.id))).toEqual([])

      // Whoever computes pseudonyms with the old key must not write next to the new ones.
      const write = Effect.flatMap(Ingest, (i) => i.events("okta", fileValues(files.events), { source: "stale" })).pipe(Effect.provide(stale))
      const exit = yield* Effect.exit(write)
      if (exit._tag !== "Failure") return expect.fail("an intake with the old key succeeded")
      expect(Cause.pretty(exit.cause)).toContain("rotated")

      yield* Effect.gen(function* () {
        const current = yield* CurrentTenant
        expect(current.keyVersion).toBe(1)
        expect((yield* Effect.flatMap(Evaluator, (e) => e.fromFile(files.truth))).overall).toEqual(accuracy)
        const again = yield* Effect.flatMap(Ingest, (i) => i.events("okta", fileValues(files.events), { source: files.events }))
        expect(again.accepted).toBe(0)
        const categorized = yield* sql<{ n: number }>`
          SELECT count(*)::int AS n FROM work_categories c JOIN employees e USING (user_id)`
        expect(categorized[0]!.n).toBe(after.length)
      }).pipe(Effect.provide(fresh()))
    }).pipe(Effect.scoped, Effect.provide(testTenantLayer(tenant))), 120_000)
})
