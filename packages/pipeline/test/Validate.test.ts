import { describe, expect, it } from "@effect/vitest"
import { CategoryId, type IsoDate } from "@workcat/core"
import { ControlSql, TenantRegistry, TenantSecrets } from "@workcat/tenancy"
import { Effect, Redacted, Schema } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Runs } from "../src/durable/Runs.js"
import { HrIngest } from "../src/ingest/HrIngest.js"
import { Ingest } from "../src/ingest/Ingest.js"
import { fileValues } from "../src/ingest/Framing.js"
import { runNightly } from "../src/nightly/RunNightly.js"
import { generate } from "../src/synthetic/Generate.js"
import { ValidateSummary } from "../src/validate/Validate.js"
import { freshTenant, testTenantLayer } from "./support/TestLayers.js"
import { webhookReceiver } from "./support/WebhookReceiver.js"

const tenant = freshTenant("valid")
const END = "2026-11-23" as IsoDate

const validate = (date: string, sample: number) =>
  Effect.gen(function* () {
    const runs = yield* Runs
    const { run } = yield* runs.start("validate", tenant, { date, sample })
    const finished = yield* runs.await(run, {})
    return { run: finished, summary: Schema.decodeUnknownSync(ValidateSummary)(finished.result) }
  })

const recorded = Effect.flatMap(ControlSql, (sql) => sql<{ runId: string; judged: number; accuracy: number | null }>`
  SELECT run_id AS "runId", judged, accuracy FROM validations WHERE tenant = ${tenant} ORDER BY validated_at`)

describe("the weekly check (validate pipeline)", () => {
  it.layer(testTenantLayer(tenant), { timeout: 120_000 })((it) => {
    it.effect("compares a sample of categorizations with what HR titles map to, and records the accuracy once per run", () =>
      Effect.gen(function* () {
        const files = yield* generate({ tenant, employees: 120, days: 30, seed: "validate", end: END, out: mkdtempSync(join(tmpdir(), "workcat-validate-")) })
        yield* Effect.flatMap(HrIngest, (h) => h.records(fileValues(files.hr), { source: "hr" }))
        yield* Effect.flatMap(Ingest, (i) => i.events("okta", fileValues(files.events), { source: "events" }))
        const night = (yield* runNightly(tenant, END)).summary!
        const { run, summary } = yield* validate(END, 60)
        expect(run.state).toBe("READY")
        expect(summary.sampled).toBe(Math.min(60, night.categorized))
        expect(summary.judged).toBeGreaterThan(summary.sampled / 2)
        expect(summary.accuracy).toBeCloseTo(summary.agreed / summary.judged, 12)
        // The offline model on its own generator, against titles from the built-in rules: well above the alert line.
        expect(summary.accuracy!).toBeGreaterThan(0.75)
        expect(summary.alerted).toBe(false)
        const perCategory = Object.values(summary.byCategory)
        expect(perCategory.reduce((n, c) => n + c.judged, 0)).toBe(summary.judged)
        expect(perCategory.reduce((n, c) => n + c.agreed, 0)).toBe(summary.agreed)
        // The same date is the same run: asked again, it answers without sampling or recording again.
        expect((yield* validate(END, 60)).run.id).toBe(run.id)
        expect(yield* recorded).toEqual([{ runId: run.id, judged: summary.judged, accuracy: summary.accuracy }])
      }))

    it.scoped("alerts the tenant's webhook when the accuracy is below its threshold", () =>
      Effect.gen(function* () {
        const receiver = yield* webhookReceiver()
        yield* Effect.flatMap(TenantSecrets, (s) => s.put(tenant, "alerts.slack", Redacted.make(`${receiver.url}/slack`))).pipe(Effect.provide(TenantSecrets.Default))
        // A mapping that sends every title to Legal: almost nobody agrees.
        yield* Effect.flatMap(TenantRegistry, (r) => r.update(tenant, { titleMapping: [{ contains: " ", category: CategoryId.make("legal") }] }))
        // A run trusts its tenant's settings for 2 s (of real time) before it looks at the registry again.
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2_100)))
        const { summary } = yield* validate("2026-11-24", 60)
        expect(summary.accuracy!).toBeLessThan(0.75)
        expect(summary.alerted).toBe(true)
        expect(receiver.received.map((r) => r.path)).toEqual(["/slack"])
        expect(receiver.received[0]!.body.text).toMatch(new RegExp(`${tenant}: \\d+% of \\d+ sampled categorizations agree with HR titles, below 75%`))
        expect((yield* recorded).map((r) => r.accuracy)).toEqual([expect.any(Number), summary.accuracy])
      }))
  })
})
