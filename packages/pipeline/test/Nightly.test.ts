import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { addDays, type IsoDate } from "@workcat/core"
import { ControlSql } from "@workcat/tenancy"
import { Effect } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Evaluator } from "../src/eval/Evaluate.js"
import { HrIngest } from "../src/ingest/HrIngest.js"
import { Ingest } from "../src/ingest/Ingest.js"
import { fileLines } from "../src/ingest/Lines.js"
import { Metrics } from "../src/materialize/Metrics.js"
import { Nightly } from "../src/nightly/Nightly.js"
import { generate } from "../src/synthetic/Generate.js"
import { freshTenant, testTenantLayer } from "./support/TestLayers.js"

const end = "2026-11-23" as IsoDate
const tenant = freshTenant("nightly")

describe("the nightly pipeline, end to end on a small synthetic tenant", () => {
  it.effect(
    "ingests, categorizes every selected user, materializes metrics and records the runs",
    () =>
      Effect.gen(function* () {
        const files = yield* generate({
          tenant,
          employees: 150,
          days: 45,
          seed: "e2e",
          end,
          out: mkdtempSync(join(tmpdir(), "workcat-e2e-")),
          malformedRate: 0.001
        })
        const hr = yield* Effect.flatMap(HrIngest, (h) => h.records(fileLines(files.hr), { source: files.hr }))
        expect(hr.rejected).toBe(0)
        const events = yield* Effect.flatMap(Ingest, (i) => i.okta(fileLines(files.events), { source: files.events }))
        expect(events.accepted + events.duplicates + events.rejected).toBe(files.eventCount)
        expect(events.rejected).toBeGreaterThan(0)

        const nightly = yield* Nightly
        const first = yield* nightly.run({ date: end })
        expect(first.state).toBe("READY")
        expect(first.categorized).toBe(first.selected)
        expect(first.byReason.uncategorized).toBe(first.selected)
        expect(first.selected).toBeGreaterThan(130)

        const report = yield* Effect.flatMap(Evaluator, (e) => e.fromFile(files.truth))
        expect(report.overall.total).toBe(first.categorized)
        expect(report.overall.accuracy).toBeGreaterThan(0.85)

        const metrics = yield* Metrics
        const privacy = { minGroupSize: 5, smallGroupPolicy: "suppress" } as const
        const byDepartment = yield* metrics.snapshot("department", { privacy })
        expect(byDepartment.asOf).toBe(end)
        expect(byDepartment.groups.map((g) => g.group)).toContain("Engineering")
        const byCategory = yield* metrics.snapshot("category", { privacy })
        expect(byCategory.groups.length).toBeGreaterThan(5)
        // Groups under the default minimum of 5 employees are withheld, never shown raw.
        expect(byCategory.suppressedGroups).toBeGreaterThan(0)
        for (const g of [...byCategory.groups, ...byDepartment.groups]) {
          expect(g.employees).toBeGreaterThanOrEqual(5)
          expect(g.authWasteHours).toBeGreaterThanOrEqual(0)
        }

        // The next night only the rotating slice and new hires are due.
        const second = yield* nightly.run({ date: addDays(end, 1) })
        expect(second.state).toBe("READY")
        expect(second.selected).toBeLessThan(first.selected / 10)
        expect(second.byReason.uncategorized ?? 0).toBe(0)

        const sql = yield* SqlClient.SqlClient
        const stored = yield* sql<{ n: number; pseudonymous: number }>`
          SELECT count(*)::int AS n, count(*) FILTER (WHERE user_id ~ '^u_[0-9a-f]{32}$')::int AS pseudonymous FROM work_categories`
        expect(stored[0]).toEqual({ n: first.categorized, pseudonymous: first.categorized })

        const control = yield* ControlSql
        const runs = yield* control<{ state: string; runKey: string }>`
          SELECT state, run_key AS "runKey" FROM runs WHERE tenant = ${tenant} ORDER BY created_at`
        expect(runs).toEqual([
          { state: "READY", runKey: `${tenant}:${end}` },
          { state: "READY", runKey: `${tenant}:${addDays(end, 1)}` }
        ])
      }).pipe(Effect.provide(testTenantLayer(tenant))),
    120_000
  )
})
