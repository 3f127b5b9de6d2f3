import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { BigQuery } from "@google-cloud/bigquery"
import { addDays, isoDate, type IsoDate, type UserId } from "@workcat/core"
import { type TenantId, TenantRegistry } from "@workcat/tenancy"
import { Effect, Layer } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PipelineLive } from "../src/app/Layers.js"
import { fileValues } from "../src/ingest/Framing.js"
import { HrIngest } from "../src/ingest/HrIngest.js"
import { Ingest } from "../src/ingest/Ingest.js"
import { runNightly } from "../src/nightly/RunNightly.js"
import { generate } from "../src/synthetic/Generate.js"
import { EventWarehouse } from "../src/warehouse/EventWarehouse.js"
import { bigQueryClientOptions, type BigQueryServer, parsesAsBigQuery, startBigQueryServer } from "./support/BigQueryServer.js"
import { freshTenant, provision, testConfig, TestRuntime, testTenantLayer } from "./support/TestLayers.js"
import { event, warehouseContract } from "./support/WarehouseContract.js"

const PROJECT = "workcat-test"
const KMS = "projects/workcat-test/locations/eu/keyRings/tenants/cryptoKeys/acme"

const server = Effect.acquireRelease(
  Effect.promise(() => startBigQueryServer({ projectId: PROJECT })),
  (s) => Effect.promise(() => s.close())
)

/** A tenant whose warehouse is BigQuery: on the test server, or (without one) on the real service in `project`. */
const bigQueryTenant = (tenant: TenantId, bq: BigQueryServer | null, project = PROJECT, location = "EU", config: Readonly<Record<string, string>> = {}) =>
  PipelineLive(tenant).pipe(
    Layer.provide(testConfig({ ...config, ...(bq === null ? {} : { WORKCAT_BQ_API_ENDPOINT: bq.url }) })),
    Layer.provide(
      Layer.effectDiscard(
        Effect.flatMap(TenantRegistry, (r) =>
          r.update(tenant, {
            warehouse: { kind: "bigquery", project, dataset: `workcat_${tenant}`, location, kmsKeyName: bq === null ? null : KMS, maxBytesBilled: 1024 ** 4, maxErasureBytesBilled: 100 * 1024 ** 4, usdPerTib: 6.25, postgresDays: 7 }
          })
        )
      ).pipe(Layer.provide(provision(tenant)))
    ),
    Layer.provideMerge(TestRuntime)
  )

warehouseContract("BigQuery test server", () => Layer.unwrapScoped(Effect.map(server, (bq) => bigQueryTenant(freshTenant("bq"), bq))))

// The same contract against the real service, when a project and credentials are given (each test leaves a dataset workcat_bq_… behind).
const realProject = process.env.WORKCAT_BQ_TEST_PROJECT
if (realProject === undefined) {
  describe("event warehouse contract: real BigQuery", () => {
    it.skip("skipped: set WORKCAT_BQ_TEST_PROJECT (and WORKCAT_BQ_TEST_LOCATION, default US) with Google credentials to run it", () => {})
  })
} else {
  warehouseContract("real BigQuery", () => bigQueryTenant(freshTenant("bq"), null, realProject, process.env.WORKCAT_BQ_TEST_LOCATION ?? "US"))
}

/** The day this many days before today (UTC). */
const daysAgo = (days: number) => addDays(isoDate(new Date()), -days)

/** Two events of two users on two days. */
const twoEvents = () => [event("a", "u_1", "github", "2026-11-02T09:00:00Z"), event("b", "u_2", "jira", "2026-11-03T09:00:00Z")]

/** The raw events' ids in a tenant's dataset on the test server. */
const rawIds = (bq: BigQueryServer, tenant: TenantId) =>
  Effect.map(
    rowsIn(bq, `workcat_${tenant}`, "SELECT event_id FROM `DATASET.sso_events_raw` WHERE occurred_at >= TIMESTAMP('2026-01-01') ORDER BY event_id"),
    (rows) => rows.map((r) => r.event_id)
  )

/** What the test server holds in a table, through the real client. */
const rowsIn = (bq: BigQueryServer, dataset: string, sql: string) =>
  Effect.promise(async () => {
    const client = new BigQuery(bigQueryClientOptions(bq))
    const [rows] = await client.query({ query: sql.replaceAll("DATASET", `${PROJECT}.${dataset}`), location: "EU" })
    return rows as ReadonlyArray<Record<string, unknown>>
  })

describe("BigQuery warehouse", () => {
  it.live("runs the whole nightly on the BigQuery adapter: the same night as on PostgreSQL, its results published to the dataset", () =>
    Effect.gen(function* () {
      const bq = yield* server
      // Tenant layers the runtime opens read the endpoint from the environment.
      process.env.WORKCAT_BQ_API_ENDPOINT = bq.url
      yield* Effect.addFinalizer(() => Effect.sync(() => delete process.env.WORKCAT_BQ_API_ENDPOINT))
      const end = "2026-11-23" as IsoDate
      const files = yield* generate({ tenant: "e2e", employees: 60, days: 21, seed: "bq", end, out: mkdtempSync(join(tmpdir(), "workcat-bq-e2e-")) })
      const night = (tenant: TenantId, layer: Layer.Layer<any, any, never>) =>
        Effect.gen(function* () {
          yield* Effect.flatMap(HrIngest, (h) => h.records(fileValues(files.hr), { source: files.hr }))
          yield* Effect.flatMap(Ingest, (i) => i.events("okta", fileValues(files.events), { source: files.events }))
          return yield* runNightly(tenant, end)
        }).pipe(Effect.provide(layer))
      const [pgTenant, bqTenant] = [freshTenant("pg"), freshTenant("bq")]
      const onPostgres = yield* night(pgTenant, testTenantLayer(pgTenant))
      const onBigQuery = yield* night(bqTenant, bigQueryTenant(bqTenant, bq))
      expect(onBigQuery.run.state).toBe("READY")
      // The night read its window sums from BigQuery.
      expect(bq.jobs.filter((j) => !j.dryRun && j.labels?.tenant === bqTenant).map((j) => j.labels?.operation)).toEqual(
        expect.arrayContaining(["rollup", "window_sums_apps", "window_sums_users"])
      )
      const summary = (s: typeof onPostgres.summary) => s && { selected: s.selected, categorized: s.categorized, byCategory: s.byCategory, metricRows: s.metricRows }
      expect(summary(onBigQuery.summary)).toEqual(summary(onPostgres.summary))
      const published = yield* rowsIn(bq, `workcat_${bqTenant}`, `SELECT COUNT(*) AS n FROM \`DATASET.work_categories\` WHERE as_of = DATE '${end}'`)
      expect(published).toEqual([{ n: onBigQuery.summary!.categorized }])
      const metrics = yield* rowsIn(bq, `workcat_${bqTenant}`, `SELECT COUNT(*) AS n FROM \`DATASET.productivity_metrics\` WHERE as_of = DATE '${end}'`)
      expect(metrics).toEqual([{ n: onBigQuery.summary!.metricRows }])
    }).pipe(Effect.scoped), 120_000)

  it.scoped("creates the tenant's dataset and tables: labelled, CMEK, partitioned by day with a required filter and expiry, clustered by user and app", () =>
    Effect.gen(function* () {
      const bq = yield* server
      const tenant = freshTenant("bq")
      yield* Effect.gen(function* () {
        const w = yield* EventWarehouse
        yield* w.append([event("a", "u_1", "github", "2026-11-02T09:00:00Z")])
        yield* w.settle
      }).pipe(Effect.provide(bigQueryTenant(tenant, bq)))
      const dataset = bq.datasets.get(`workcat_${tenant}`) as Record<string, any>
      expect(dataset).toMatchObject({ location: "EU", labels: { app: "workcat", tenant }, defaultEncryptionConfiguration: { kmsKeyName: KMS } })
      for (const [name, partition] of [["sso_events_raw", "occurred_at"], ["user_app_daily", "day"]] as const) {
        expect(bq.tables.get(`workcat_${tenant}.${name}`)).toMatchObject({
          timePartitioning: { type: "DAY", field: partition, expirationMs: String(730 * 86_400_000) },
          requirePartitionFilter: true,
          clustering: { fields: ["user_id", "app"] },
          labels: { app: "workcat", tenant },
          encryptionConfiguration: { kmsKeyName: KMS }
        })
      }
    }))

  it.scoped("loads each event once, even when the answer to a load is lost and the settle runs again", () =>
    Effect.gen(function* () {
      const bq = yield* server
      const tenant = freshTenant("bq")
      yield* Effect.gen(function* () {
        const w = yield* EventWarehouse
        yield* w.append(twoEvents())
        bq.failNext((req) => req.method === "POST" && req.path.includes("/upload/"), "drop-after-commit")
        yield* w.settle // the events are stored; the export, whose answer was lost, is logged and stays pending
        const sql = yield* SqlClient.SqlClient
        expect(yield* sql`SELECT state FROM bq_exports`).toEqual([{ state: "pending" }])
        // The next settle loads it again under the same job id, which BigQuery refuses as a duplicate of the job that ran.
        yield* w.settle
        // One export job took both days' events; loaded once, its days rolled up, it is done.
        expect(yield* sql`SELECT state, rows FROM bq_exports`).toEqual([{ state: "done", rows: 2 }])
      }).pipe(Effect.provide(bigQueryTenant(tenant, bq)))
      expect(yield* rawIds(bq, tenant)).toEqual(["a", "b"])
      const rollup = yield* rowsIn(bq, `workcat_${tenant}`, "SELECT user_id, app, accesses FROM `DATASET.user_app_daily` WHERE day >= DATE('2026-01-01') ORDER BY user_id")
      expect(rollup).toEqual([{ user_id: "u_1", app: "github", accesses: 1 }, { user_id: "u_2", app: "jira", accesses: 1 }])
    }))

  it.scoped("sends only parameterized BigQuery SQL, each job capped, labelled and its bytes billed recorded", () =>
    Effect.gen(function* () {
      const bq = yield* server
      const tenant = freshTenant("bq")
      const recorded = yield* Effect.gen(function* () {
        const w = yield* EventWarehouse
        yield* w.append([event("a", "u_1", "github", "2026-11-02T09:00:00Z")])
        yield* w.profiles({ date: "2026-11-10" as never, profileWindowDays: 30, recentWindowDays: 7, metricsWindowDays: 28 }, ["u_1" as UserId])
        yield* w.forget("u_1" as UserId)
        yield* w.append([event("b", "u_2", "github", "2026-11-02T09:00:00Z")])
        yield* w.settle
        yield* w.rekey((old) => `${old}_v1`)
        const sql = yield* SqlClient.SqlClient
        return yield* sql<{ operation: string; bytes: number }>`SELECT operation, bytes_billed::float8 AS bytes FROM warehouse_queries ORDER BY id`
      }).pipe(Effect.provide(bigQueryTenant(tenant, bq)))
      const queries = bq.jobs.filter((j) => j.kind === "query" && !j.dryRun)
      // Every query but a script was estimated by a dry run first.
      const dryRuns = bq.jobs.filter((j) => j.kind === "query" && j.dryRun)
      expect(dryRuns.map((j) => j.query).sort()).toEqual(queries.filter((q) => !/^\s*BEGIN/.test(q.query!)).map((q) => q.query).sort())
      expect(queries.length).toBeGreaterThan(0)
      expect(recorded.map((r) => r.operation).sort()).toEqual(queries.map((q) => q.labels?.operation).sort())
      for (const job of queries) {
        // Statements that rewrite partitions (forgets, a key rotation) are under the erasure cap, reads under the query cap.
        const erasure = ["forget", "rekey", "rekey_ids"].includes(job.labels?.operation ?? "")
        expect(job.maximumBytesBilled).toBe(String(erasure ? 100 * 1024 ** 4 : 1024 ** 4))
        expect(job.labels).toMatchObject({ app: "workcat", tenant })
        expect(job.query).not.toMatch(/u_[12]/) // values travel as parameters
        expect(parsesAsBigQuery(job.query!)).toBe(true)
      }
      expect(recorded.every((r) => r.bytes >= 10 * 1024 * 1024)).toBe(true)
    }))

  it.live("loads new events into BigQuery between settles, every WORKCAT_BQ_FLUSH_SECONDS", () =>
    Effect.gen(function* () {
      const bq = yield* server
      const tenant = freshTenant("bq")
      yield* Effect.gen(function* () {
        const w = yield* EventWarehouse
        yield* w.append(twoEvents())
        yield* Effect.sleep("2500 millis")
        const sql = yield* SqlClient.SqlClient
        // Loaded, not yet rolled up there: that waits for a settle.
        expect(yield* sql`SELECT state, rows FROM bq_exports`).toEqual([{ state: "loaded", rows: 2 }])
      }).pipe(Effect.provide(bigQueryTenant(tenant, bq, PROJECT, "EU", { WORKCAT_BQ_FLUSH_SECONDS: "1" })))
      expect(yield* rawIds(bq, tenant)).toEqual(["a", "b"])
    }).pipe(Effect.scoped))

  it.scoped("keeps in BigQuery what a forgotten person does after the forget, as PostgreSQL does", () =>
    Effect.gen(function* () {
      const bq = yield* server
      const tenant = freshTenant("bq")
      const day = daysAgo(1)
      yield* Effect.gen(function* () {
        const w = yield* EventWarehouse
        yield* w.append([event("before", "u_1", "github", `${day}T09:00:00Z`), event("other", "u_2", "github", `${day}T09:00:00Z`)])
        yield* w.settle
        yield* w.forget("u_1" as UserId)
        yield* w.append([event("after", "u_1", "jira", `${day}T15:00:00Z`)])
        yield* w.settle
        yield* w.beforeNight
        expect([...(yield* w.usersWithActivity(["u_1", "u_2"] as Array<UserId>))].sort()).toEqual(["u_1", "u_2"])
      }).pipe(Effect.provide(bigQueryTenant(tenant, bq)))
      expect(yield* rawIds(bq, tenant)).toEqual(["after", "other"])
      const rollup = yield* rowsIn(bq, `workcat_${tenant}`, "SELECT user_id, app, accesses FROM `DATASET.user_app_daily` WHERE day >= DATE('2026-01-01') ORDER BY user_id")
      expect(rollup).toEqual([{ user_id: "u_1", app: "jira", accesses: 1 }, { user_id: "u_2", app: "github", accesses: 1 }])
    }))

  it.scoped("forgets in BigQuery what a person did between two forgets", () =>
    Effect.gen(function* () {
      const bq = yield* server
      const tenant = freshTenant("bq")
      const day = daysAgo(1)
      yield* Effect.gen(function* () {
        const w = yield* EventWarehouse
        yield* w.append([event("first", "u_1", "github", `${day}T09:00:00Z`), event("other", "u_2", "github", `${day}T09:00:00Z`)])
        yield* w.settle
        yield* w.forget("u_1" as UserId)
        yield* w.append([event("between", "u_1", "jira", `${day}T15:00:00Z`)])
        yield* w.settle // exported before the second forget
        yield* w.forget("u_1" as UserId)
        yield* w.beforeNight
      }).pipe(Effect.provide(bigQueryTenant(tenant, bq)))
      expect(yield* rawIds(bq, tenant)).toEqual(["other"])
    }))

  it.scoped("leaves a forgotten person out of a night's reads before the forget is applied in BigQuery", () =>
    Effect.gen(function* () {
      const bq = yield* server
      const tenant = freshTenant("bq")
      const night = { date: isoDate(new Date()), profileWindowDays: 30, recentWindowDays: 7, metricsWindowDays: 28 }
      const profiled = yield* Effect.gen(function* () {
        const w = yield* EventWarehouse
        yield* w.append([event("a", "u_1", "github", `${daysAgo(2)}T09:00:00Z`), event("b", "u_2", "github", `${daysAgo(2)}T09:00:00Z`)])
        yield* w.settle
        yield* w.forget("u_1" as UserId)
        return [...(yield* w.profiles(night, ["u_1", "u_2"] as Array<UserId>)).keys()]
      }).pipe(Effect.provide(bigQueryTenant(tenant, bq)))
      expect(profiled).toEqual(["u_2"])
      expect(yield* rawIds(bq, tenant)).toEqual(["a", "b"]) // not yet erased there
    }))

  it.scoped("keeps only the last postgresDays days of raw events in PostgreSQL once they are in BigQuery, which keeps them all", () =>
    Effect.gen(function* () {
      const bq = yield* server
      const tenant = freshTenant("bq")
      const [old, recent] = [daysAgo(30), daysAgo(2)]
      yield* Effect.gen(function* () {
        const w = yield* EventWarehouse
        const sql = yield* SqlClient.SqlClient
        yield* w.append([event("a", "u_1", "github", `${old}T09:00:00Z`), event("b", "u_2", "jira", `${recent}T09:00:00Z`)])
        yield* w.settle
        expect(yield* sql`SELECT event_id FROM sso_events`).toEqual([{ event_id: "b" }])
        expect(yield* sql`SELECT user_id FROM user_app_daily`).toEqual([{ user_id: "u_2" }])
        // Who has activity is still known for every day kept.
        expect([...(yield* w.usersWithActivity(["u_1", "u_2"] as Array<UserId>))].sort()).toEqual(["u_1", "u_2"])
        expect((yield* w.knownDays)(old)).toBe(true) // the day's partition stays, empty
      }).pipe(Effect.provide(bigQueryTenant(tenant, bq)))
      expect(yield* rawIds(bq, tenant)).toEqual(["a", "b"])
    }))

  it.scoped("takes a late event of a day PostgreSQL no longer holds; BigQuery counts an event sent again then once", () =>
    Effect.gen(function* () {
      const bq = yield* server
      const tenant = freshTenant("bq")
      const old = daysAgo(20)
      yield* Effect.gen(function* () {
        const w = yield* EventWarehouse
        const sql = yield* SqlClient.SqlClient
        yield* w.append([event("a", "u_1", "github", `${old}T09:00:00Z`)])
        yield* w.settle
        // Past its days, PostgreSQL's duplicate check no longer knows "a": sent again, it is taken as new.
        expect((yield* w.append([event("a", "u_1", "github", `${old}T09:00:00Z`), event("c", "u_1", "github", `${old}T11:00:00Z`)])).inserted).toBe(2)
        yield* w.settle
        expect(yield* sql`SELECT count(*)::int AS n FROM sso_events`).toEqual([{ n: 0 }])
      }).pipe(Effect.provide(bigQueryTenant(tenant, bq)))
      const rollup = yield* rowsIn(bq, `workcat_${tenant}`, `SELECT user_id, app, accesses FROM \`DATASET.user_app_daily\` WHERE day = DATE '${old}'`)
      expect(rollup).toEqual([{ user_id: "u_1", app: "github", accesses: 2 }])
    }))

  it.scoped("keeps a day's events in PostgreSQL while they are not in BigQuery", () =>
    Effect.gen(function* () {
      const bq = yield* server
      const tenant = freshTenant("bq")
      yield* Effect.gen(function* () {
        const w = yield* EventWarehouse
        const sql = yield* SqlClient.SqlClient
        yield* w.append([event("a", "u_1", "github", `${daysAgo(30)}T09:00:00Z`)])
        bq.failNext((req) => req.method === "POST" && req.path.includes("/upload/"), "500")
        yield* w.settle // the load failed: logged, the export stays pending
        expect(yield* sql`SELECT event_id FROM sso_events`).toEqual([{ event_id: "a" }])
        yield* w.settle
        expect(yield* sql`SELECT event_id FROM sso_events`).toEqual([])
      }).pipe(Effect.provide(bigQueryTenant(tenant, bq)))
      expect(yield* rawIds(bq, tenant)).toEqual(["a"])
    }))

  it.scoped("re-keys the events only BigQuery holds, and those PostgreSQL still has", () =>
    Effect.gen(function* () {
      const bq = yield* server
      const tenant = freshTenant("bq")
      const count = yield* Effect.gen(function* () {
        const w = yield* EventWarehouse
        const sql = yield* SqlClient.SqlClient
        // An old session only BigQuery holds once PostgreSQL has emptied its day.
        yield* w.append([{ ...event("a", "u_1", "github", `${daysAgo(30)}T09:00:00Z`), sessionId: "s_old" }, event("b", "u_2", "jira", `${daysAgo(1)}T09:00:00Z`)])
        yield* w.settle
        const count = yield* w.rekey((old) => `${old}_v1`)
        expect(yield* sql`SELECT user_id, session_id FROM sso_events`).toEqual([{ user_id: "u_2_v1", session_id: "s_0123_v1" }])
        return count
      }).pipe(Effect.provide(bigQueryTenant(tenant, bq)))
      expect(count).toBe(4) // u_1, u_2, s_old, s_0123
      const raw = yield* rowsIn(bq, `workcat_${tenant}`, "SELECT DISTINCT user_id, session_id FROM `DATASET.sso_events_raw` WHERE occurred_at >= TIMESTAMP('2026-01-01') ORDER BY user_id")
      expect(raw).toEqual([{ user_id: "u_1_v1", session_id: "s_old_v1" }, { user_id: "u_2_v1", session_id: "s_0123_v1" }])
      const rollup = yield* rowsIn(bq, `workcat_${tenant}`, "SELECT DISTINCT user_id FROM `DATASET.user_app_daily` WHERE day >= DATE('2026-01-01') ORDER BY user_id")
      expect(rollup).toEqual([{ user_id: "u_1_v1" }, { user_id: "u_2_v1" }])
      // The mapping table is gone with the rotation.
      expect(bq.tables.has(`workcat_${tenant}.rekey_map`)).toBe(false)
    }))

  it.scoped("forgets a person in BigQuery at the start of the next night, with that night's other forgets, before it reads", () =>
    Effect.gen(function* () {
      const bq = yield* server
      const tenant = freshTenant("bq")
      const users = (table: string, filter: string) => rowsIn(bq, `workcat_${tenant}`, `SELECT DISTINCT user_id FROM \`DATASET.${table}\` WHERE ${filter} ORDER BY user_id`)
      const [raw, rollup] = [() => users("sso_events_raw", "occurred_at >= TIMESTAMP('2026-01-01')"), () => users("user_app_daily", "day >= DATE('2026-01-01')")]
      yield* Effect.gen(function* () {
        const w = yield* EventWarehouse
        const sql = yield* SqlClient.SqlClient
        yield* w.append(["u_1", "u_2", "u_3"].map((u, i) => event(`e${i}`, u, "github", "2026-11-02T09:00:00Z")))
        yield* w.settle
        expect(yield* w.forget("u_1" as UserId)).toMatchObject({ "bigquery.queued": 1 })
        yield* w.forget("u_3" as UserId)
        // Queued, not yet applied there.
        expect(yield* sql`SELECT user_id FROM bq_erasures ORDER BY 1`).toEqual([{ user_id: "u_1" }, { user_id: "u_3" }])
        expect((yield* raw()).length).toBe(3)
        yield* w.beforeNight
        expect(yield* sql`SELECT user_id FROM bq_erasures`).toEqual([])
      }).pipe(Effect.provide(bigQueryTenant(tenant, bq)))
      expect([yield* raw(), yield* rollup()]).toEqual([[{ user_id: "u_2" }], [{ user_id: "u_2" }]])
      // One job for both (a statement per table), under the erasure cap.
      const erasures = bq.jobs.filter((j) => j.kind === "query" && !j.dryRun && j.labels?.operation === "forget")
      expect(erasures.map((j) => j.maximumBytesBilled)).toEqual([String(100 * 1024 ** 4)])
    }))
})
