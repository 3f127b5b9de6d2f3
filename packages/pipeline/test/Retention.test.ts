import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { ControlSql, type TenantId, TenantRegistry } from "@workcat/tenancy"
import { Effect, Fiber, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { CostLedger } from "../src/categorizer/llm/CostLedger.js"
import { sweepLedger } from "../src/durable/Retention.js"
import { TenantRuntimes } from "../src/durable/TenantRuntimes.js"
import { runWorker } from "../src/durable/Worker.js"
import { freshTenant, liveTests, provision, TestRuntime } from "./support/TestLayers.js"

const tenants = { swept: freshTenant("ret"), other: freshTenant("ret"), costs: freshTenant("ret"), scheduled: freshTenant("ret") }

const TestLayer = provision(...Object.values(tenants)).pipe(
  Layer.provideMerge(TestRuntime)
)

const inTenant = <A, E, R>(tenant: TenantId, effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(TenantRuntimes, (t) => t.runtime(tenant)).pipe(
    Effect.flatMap((runtime) => Effect.provide(effect, runtime)),
    Effect.scoped
  )

type State = "READY" | "DEGRADED" | "FAILED" | "CANCELLED" | "STALE" | "PROCESSING" | "QUEUED"

/**
 * A run of the tenant as the ledger would have it, `daysAgo` days old (created, ended and last
 * touched then, unless `touchedDaysAgo`), with two transitions and, in the tenant's schema, two
 * stage and three item checkpoints. Its id.
 */
const seedRun = (tenant: TenantId, run: { pipeline?: string; state: State; daysAgo: number; touchedDaysAgo?: number }) =>
  Effect.gen(function* () {
    const control = yield* ControlSql
    const id = randomUUID()
    const at = (days: number) => new Date(Date.now() - days * 86_400_000)
    const ended = run.state !== "PROCESSING" && run.state !== "QUEUED"
    yield* control`
      INSERT INTO runs (id, tenant, pipeline, run_key, state, input, created_at, queued_at, started_at, finished_at, updated_at)
      VALUES (${id}, ${tenant}, ${run.pipeline ?? "nightly"}, ${id}, ${run.state}, '{}'::jsonb, ${at(run.daysAgo + 1)}, ${at(run.daysAgo + 1)},
              ${run.state === "QUEUED" ? null : at(run.daysAgo + 1)}, ${ended ? at(run.daysAgo) : null}, ${at(run.touchedDaysAgo ?? run.daysAgo)})`
    yield* control`
      INSERT INTO run_transitions (run_id, from_state, to_state, at, reason)
      VALUES (${id}, NULL, 'QUEUED', ${at(run.daysAgo + 1)}, 'created'), (${id}, 'QUEUED', 'PROCESSING', ${at(run.daysAgo + 1)}, 'admitted')`
    yield* inTenant(tenant, seedCheckpoints(id, at(run.daysAgo + 1)))
    return id
  })

const seedCheckpoints = (runId: string, startedAt: Date) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.all([
      sql`INSERT INTO run_stages (run_id, stage, ordinal, kind, state, started_at)
          VALUES (${runId}, 'select', 0, 'step', 'DONE', ${startedAt}), (${runId}, 'categorize', 1, 'fanout', 'DONE', ${startedAt})`,
      sql`INSERT INTO run_items (run_id, stage, item_key, state, payload)
          SELECT ${runId}, 'categorize', 'u_' || i, 'DONE', '{}'::jsonb FROM generate_series(1, 3) i`
    ])
  )

/** The tenant's runs in the control plane, and the runs its checkpoints are of. */
const left = (tenant: TenantId) =>
  Effect.gen(function* () {
    const control = yield* ControlSql
    const runs = yield* control<{ id: string; transitions: number }>`
      SELECT id::text AS id, (SELECT count(*) FROM run_transitions t WHERE t.run_id = r.id)::int AS transitions FROM runs r WHERE tenant = ${tenant}`
    const checkpointed = yield* inTenant(
      tenant,
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql<{ id: string; rows: number }>`
          SELECT run_id::text AS id, count(*)::int AS rows FROM (SELECT run_id FROM run_stages UNION ALL SELECT run_id FROM run_items) c GROUP BY 1`
      )
    )
    return {
      runs: new Set(runs.map((r) => r.id)),
      transitions: runs.reduce((n, r) => n + r.transitions, 0),
      checkpointed: new Set(checkpointed.map((c) => c.id)),
      checkpointRows: checkpointed.reduce((n, c) => n + c.rows, 0)
    }
  })

/** LLM calls of `daysAgo` days ago, naming a person and a run. */
const seedCalls = (calls: ReadonlyArray<{ readonly daysAgo: number; readonly usd: number }>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.forEach(
      calls,
      ({ daysAgo, usd }) => sql`
        INSERT INTO llm_calls (at, run_id, user_id, operation, model, input_tokens, cached_tokens, output_tokens, cost_usd, status)
        VALUES (now() - make_interval(days => ${daysAgo}), ${randomUUID()}, 'u_someone', 'categorize', 'gpt-test', 1000, 100, 200, ${usd}, 'ok')`,
      { discard: true }
    )
  )

const costs = Effect.flatMap(CostLedger, (c) => Effect.all({ report: c.report, month: c.monthSpend }))

describe("ledger retention", () => {
  it.layer(TestLayer, { timeout: 120_000 })((it) => {
    /** On the live clock: the worker's schedule and the database's `now()` agree. */
    const live = liveTests(it)

    live("deletes old finished runs with their transitions and checkpoints; keeps recent, unfinished, latest-READY and other tenants' runs", () =>
      Effect.gen(function* () {
        const { other, swept } = tenants
        const gone = yield* Effect.all([
          seedRun(swept, { state: "READY", daysAgo: 200 }),
          seedRun(swept, { state: "FAILED", daysAgo: 120 }),
          seedRun(swept, { state: "STALE", daysAgo: 100 }),
          seedRun(swept, { state: "CANCELLED", daysAgo: 95 }),
          seedRun(swept, { pipeline: "other", state: "DEGRADED", daysAgo: 300 })
        ])
        const kept = yield* Effect.all([
          // Ended long ago, but marked STALE two days ago: it may be started again.
          seedRun(swept, { state: "STALE", daysAgo: 100, touchedDaysAgo: 2 }),
          seedRun(swept, { state: "READY", daysAgo: 10 }),
          seedRun(swept, { state: "FAILED", daysAgo: 60 }),
          seedRun(swept, { state: "PROCESSING", daysAgo: 200 }),
          seedRun(swept, { state: "QUEUED", daysAgo: 200 }),
          // The latest READY run of its pipeline: what the tenant's results came from.
          seedRun(swept, { pipeline: "other", state: "READY", daysAgo: 300 })
        ])
        const theirs = yield* Effect.all([seedRun(other, { state: "READY", daysAgo: 200 }), seedRun(other, { state: "READY", daysAgo: 1 })])
        // Checkpoints of a run the ledger deleted already (a sweep that died half-way).
        const leftOver = randomUUID()
        yield* inTenant(swept, seedCheckpoints(leftOver, new Date(Date.now() - 150 * 86_400_000)))
        const before = yield* left(other)

        const dry = yield* sweepLedger(swept, { dryRun: true })
        expect(yield* left(swept)).toMatchObject({ runs: new Set([...gone, ...kept]) })
        const done = yield* sweepLedger(swept)
        expect(done).toEqual(dry)
        expect(done).toMatchObject({ retentionDays: 90, runs: 5, transitions: 10, stages: 12, items: 18 })

        const after = yield* left(swept)
        expect(after.runs).toEqual(new Set(kept))
        expect(after.transitions).toBe(2 * kept.length)
        expect(after.checkpointed).toEqual(new Set(kept))
        expect(yield* left(other)).toEqual(before)
        expect(before.runs).toEqual(new Set(theirs))
        expect((yield* sweepLedger(swept)).runs).toBe(0)

        // A shorter retention of the tenant's takes the run that ended 60 days ago too.
        yield* Effect.flatMap(TenantRegistry, (r) => r.update(swept, { ledgerRetentionDays: 30 }))
        expect(yield* sweepLedger(swept)).toMatchObject({ retentionDays: 30, runs: 1 })
        expect((yield* left(swept)).runs).toEqual(new Set(kept.filter((id) => id !== kept[2])))
      }))

    live("leaves the cost report as it was: calls past the retention lose their run and person, not their cost", () =>
      Effect.gen(function* () {
        const swept = tenants.costs
        yield* inTenant(
          swept,
          seedCalls([
            { daysAgo: 0, usd: 0.5 },
            { daysAgo: 5, usd: 0.25 },
            { daysAgo: 40, usd: 1 },
            { daysAgo: 100, usd: 2 },
            { daysAgo: 200, usd: 4 },
            { daysAgo: 330, usd: 8 },
            { daysAgo: 420, usd: 16 }
          ])
        )
        // Kept answers: one past the ledger's 90 days, one recent.
        yield* inTenant(
          swept,
          Effect.flatMap(SqlClient.SqlClient, (sql) =>
            sql`INSERT INTO llm_responses (request_key, user_id, operation, model, content, created_at)
                VALUES ('old', 'u_someone', 'explain', 'gpt-test', 'x', now() - interval '100 days'),
                       ('new', 'u_someone', 'explain', 'gpt-test', 'y', now() - interval '5 days')`
          )
        )
        const before = yield* inTenant(swept, costs)
        expect(before.report.months.reduce((n, m) => n + m.calls, 0)).toBe(6)
        const done = yield* sweepLedger(swept)
        expect(done.other).toEqual({ llmCallsUnlinked: 3, llmCallsDeleted: 1, llmAnswersDeleted: 1 })
        expect(yield* inTenant(swept, costs)).toEqual(before)
        const linked = yield* inTenant(
          swept,
          Effect.flatMap(SqlClient.SqlClient, (sql) =>
            sql<{ days: number; person: boolean; run: boolean }>`
              SELECT round(extract(epoch FROM now() - at) / 86400)::int AS days, user_id IS NOT NULL AS person, run_id IS NOT NULL AS run
              FROM llm_calls ORDER BY at DESC`
          )
        )
        expect(linked).toEqual([
          { days: 0, person: true, run: true },
          { days: 5, person: true, run: true },
          { days: 40, person: true, run: true },
          { days: 100, person: false, run: false },
          { days: 200, person: false, run: false },
          { days: 330, person: false, run: false }
        ])
      }))

    live("runs from the worker, at most once a day per tenant across workers", () =>
      Effect.gen(function* () {
        const { scheduled } = tenants
        const control = yield* ControlSql
        const first = yield* seedRun(scheduled, { state: "READY", daysAgo: 200 })
        yield* seedRun(scheduled, { state: "READY", daysAgo: 1 })
        const worker = yield* Effect.fork(
          runWorker({ maxRuns: 1, pollInterval: "100 millis", tenants: [scheduled], ledgerSweep: { every: "100 millis", firstAfter: "0 millis" } })
        )
        const present = (id: string) => Effect.map(left(scheduled), (l) => l.runs.has(id))
        const until = (id: string, want: boolean) =>
          present(id).pipe(Effect.delay("100 millis"), Effect.repeat({ until: (p) => p === want, times: 50 }))
        expect(yield* until(first, false)).toBe(false)
        const [sweep] = yield* control<{ removed: { runs: number } }>`SELECT removed FROM ledger_sweeps WHERE tenant = ${scheduled}`
        expect(sweep?.removed.runs).toBe(1)

        // Swept today: another expired run waits for tomorrow's sweep, however often the worker looks.
        const second = yield* seedRun(scheduled, { state: "FAILED", daysAgo: 200 })
        yield* Effect.sleep("1 second")
        expect(yield* present(second)).toBe(true)
        yield* control`UPDATE ledger_sweeps SET swept_at = now() - interval '25 hours' WHERE tenant = ${scheduled}`
        expect(yield* until(second, false)).toBe(false)
        yield* Fiber.interrupt(worker)
      }))
  })
})
