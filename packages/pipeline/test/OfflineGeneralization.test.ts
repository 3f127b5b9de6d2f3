import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { addDays, type IsoDate } from "@workcat/core"
import { Effect } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Evaluator, type EvalReport } from "../src/eval/Evaluate.js"
import { fileValues } from "../src/ingest/Framing.js"
import { Ingest } from "../src/ingest/Ingest.js"
import { runNightly } from "../src/nightly/RunNightly.js"
import { generateIndependent } from "../src/synthetic/independent/Generate.js"
import { freshTenant, testTenantLayer } from "./support/TestLayers.js"

const END = "2026-11-23" as IsoDate
const tenant = freshTenant("generalize")

/** The tenant, from the second generator (its own roles, in-house apps, overlapping tool mixes): SSO events only. */
const files = generateIndependent({
  tenant,
  employees: 400,
  days: 30,
  seed: "generalization",
  end: END,
  out: mkdtempSync(join(tmpdir(), "workcat-generalize-"))
}).pipe(
  Effect.tap((f) => Effect.flatMap(Ingest, (i) => i.events("okta", fileValues(f.events), { source: f.events }))),
  Effect.cached
)

/**
 * The targets are 92% overall and 75% for every role of at least 20 people, measured by
 * `npm run bench:categorize` over several companies; one company of 400 varies by about two
 * points from seed to seed, so a single one is held to 90% here, and every role to the target.
 */
const OVERALL = 0.9

/** Roles of at least 20 people categorized right less than 75% of the time. */
const weakRoles = (report: EvalReport) =>
  Object.entries(report.perCategory)
    .filter(([, a]) => a.total >= 20 && a.accuracy < 0.75)
    .map(([category, a]) => `${category} ${a.correct}/${a.total}`)

const firstNight = Effect.gen(function* () {
  const { truth } = yield* yield* files
  const night = yield* runNightly(tenant, END)
  expect(night.run.state).toBe("READY")
  return yield* Effect.flatMap(Evaluator, (e) => e.fromFile(truth))
})

describe("the offline categorizer on a tenant it was not built from", () => {
  it.layer(testTenantLayer(tenant), { timeout: 120_000 })((it) => {
    it.effect("puts at least 90% of the people in their role on the first night, and at least 75% of each role of 20 or more", () =>
      Effect.gen(function* () {
        const report = yield* firstNight
        expect(report.overall.total).toBeGreaterThanOrEqual(390)
        expect(Object.values(report.perCategory).filter((a) => a.total >= 20).length).toBeGreaterThanOrEqual(8)
        expect(report.overall.accuracy).toBeGreaterThanOrEqual(OVERALL)
        expect(weakRoles(report)).toEqual([])
      })
    )

    it.effect("holds that on the next night, with the first night's results as the neighbours", () =>
      Effect.gen(function* () {
        const { truth } = yield* yield* files
        yield* firstNight
        // Everybody due again (the periodic refresh), so every result is redone with categorized colleagues to compare with.
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE work_categories SET categorized_at = ${END}::date - interval '70 days'`
        const night = yield* runNightly(tenant, addDays(END, 1))
        expect(night.summary!.selected).toBeGreaterThanOrEqual(390)
        const report = yield* Effect.flatMap(Evaluator, (e) => e.fromFile(truth))
        expect(report.overall.accuracy).toBeGreaterThanOrEqual(OVERALL)
        expect(weakRoles(report)).toEqual([])
      })
    )
  })
})
