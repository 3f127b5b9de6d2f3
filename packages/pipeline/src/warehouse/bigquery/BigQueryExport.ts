import * as SqlClient from "@effect/sql/SqlClient"
import { addDays, isoDate, type UserId } from "@workcat/core"
import { CurrentTenant } from "@workcat/tenancy"
import { Array as Arr, Config, Duration, Effect, Option, Schedule } from "effect"
import { randomUUID } from "node:crypto"
import { type NightWindows, WarehouseError } from "../EventWarehouse.js"
import type { AppSums, UserSums } from "../WindowSource.js"
import { TenantWarehouse } from "../TenantWarehouse.js"
import { type BigQueryJobs, type BigQueryRefused, jobIdFor, makeBigQueryJobs } from "./BigQueryJobs.js"
import { trimExported } from "./Trim.js"

export const RAW_TABLE = "sso_events_raw"
export const ROLLUP_TABLE = "user_app_daily"
export const CATEGORIES_TABLE = "work_categories"
export const METRICS_TABLE = "productivity_metrics"
/** A key rotation's pairs of old and new values, for the time of the rotation. */
const REKEY_TABLE = "rekey_map"
/** Values a page of the rotation's read brings. */
const REKEY_PAGE = 100_000
/** Pairs one of the rotation's loads takes at most (about 150 MB of NDJSON). */
const REKEY_LOAD = 1_000_000
/** People one erasure statement deletes at most (a query parameter of their pseudonyms). */
const ERASE_USERS = 10_000

const DAY_MS = 86_400_000
/** Events one load job takes at most (tens of MB of NDJSON). */
const EXPORT_ROWS = 100_000

/** The first instant of a day (UTC), a TIMESTAMP parameter. */
const midnight = (day: string) => new Date(`${day}T00:00:00Z`)
/** Lines as the body of an NDJSON load. */
const ndjson = (lines: ReadonlyArray<string>) => lines.join("\n") + "\n"
/** Whatever failed (the client, PostgreSQL, BigQuery refusing), as the warehouse's failure. */
const asWarehouseError = <A, E extends { readonly _tag: string }, R>(self: Effect.Effect<A, E, R>) =>
  Effect.mapError(self, (e) => (e instanceof WarehouseError ? e : new WarehouseError({ cause: e })))

const field = (name: string, type: string, mode: "REQUIRED" | "NULLABLE" = "NULLABLE") => ({ name, type, mode })
/** The raw events as stored in PostgreSQL (pseudonymous), plus when they were ingested. */
export const RAW_SCHEMA = [
  field("provider", "STRING", "REQUIRED"),
  field("event_id", "STRING", "REQUIRED"),
  field("event_type", "STRING", "REQUIRED"),
  field("occurred_at", "TIMESTAMP", "REQUIRED"),
  field("user_id", "STRING"),
  field("app", "STRING"),
  field("app_name", "STRING"),
  field("outcome", "STRING", "REQUIRED"),
  field("auth_steps", "INT64", "REQUIRED"),
  field("session_id", "STRING"),
  field("country", "STRING"),
  field("ingested_at", "TIMESTAMP", "REQUIRED")
]
export const ROLLUP_SCHEMA = [
  field("user_id", "STRING", "REQUIRED"),
  field("day", "DATE", "REQUIRED"),
  field("app", "STRING", "REQUIRED"),
  field("accesses", "INT64", "REQUIRED"),
  field("auth_steps", "INT64", "REQUIRED")
]

/** Each READY night's labels (every categorized user's, as of the night) and metrics, for the tenant's analysts. */
const CATEGORIES_SCHEMA = [
  field("as_of", "DATE", "REQUIRED"),
  field("user_id", "STRING", "REQUIRED"),
  field("category", "STRING", "REQUIRED"),
  field("confidence", "FLOAT64", "REQUIRED"),
  field("explanation", "STRING", "REQUIRED"),
  field("recommendations", "STRING", "REQUIRED"),
  field("evidence_apps", "STRING", "REQUIRED"),
  field("alternatives", "STRING", "REQUIRED"),
  field("reasons", "STRING", "REQUIRED"),
  field("categorizer", "STRING", "REQUIRED"),
  field("run_id", "STRING", "REQUIRED"),
  field("categorized_at", "TIMESTAMP", "REQUIRED")
]
const METRICS_SCHEMA = [
  field("as_of", "DATE", "REQUIRED"),
  field("group_by", "STRING", "REQUIRED"),
  field("group_value", "STRING", "REQUIRED"),
  field("window_days", "INT64", "REQUIRED"),
  field("employees", "INT64", "REQUIRED"),
  field("active_days", "INT64", "REQUIRED"),
  field("accesses", "INT64", "REQUIRED"),
  field("avg_auth_step", "FLOAT64", "REQUIRED"),
  field("distinct_apps_per_day", "FLOAT64", "REQUIRED"),
  field("auth_waste_hours", "FLOAT64", "REQUIRED"),
  field("context_switch_waste_hours", "FLOAT64", "REQUIRED"),
  field("waste_hours_per_employee_week", "FLOAT64", "REQUIRED"),
  field("run_id", "STRING", "REQUIRED")
]

/**
 * The tenant's dataset and tables, created if missing: labelled with the tenant, encrypted with
 * its KMS key when it has one, partitioned by day (a partition expires with the tenant's
 * retention), every query required to filter on the partition column, clustered by user and app.
 */
const ensureTables = (jobs: BigQueryJobs, options: { readonly tenant: string; readonly location: string; readonly kmsKeyName: string | null; readonly retentionDays: number }) =>
  Effect.tryPromise({
    try: async () => {
      const labels = { app: "workcat", tenant: options.tenant }
      const encryption = options.kmsKeyName === null ? {} : { kmsKeyName: options.kmsKeyName }
      const created = (e: unknown) => {
        if ((e as { code?: number }).code !== 409) throw e // created meanwhile by another process
      }
      const [exists] = await jobs.dataset.exists()
      if (!exists) {
        await jobs.dataset
          .create({ location: options.location, labels, ...(options.kmsKeyName === null ? {} : { defaultEncryptionConfiguration: encryption }) })
          .catch(created)
      }
      const tables = [
        { name: RAW_TABLE, schema: RAW_SCHEMA, partition: "occurred_at", clustering: ["user_id", "app"] },
        { name: ROLLUP_TABLE, schema: ROLLUP_SCHEMA, partition: "day", clustering: ["user_id", "app"] },
        { name: CATEGORIES_TABLE, schema: CATEGORIES_SCHEMA, partition: "as_of", clustering: ["category", "user_id"] },
        { name: METRICS_TABLE, schema: METRICS_SCHEMA, partition: "as_of", clustering: ["group_by", "group_value"] }
      ]
      for (const t of tables) {
        const table = jobs.dataset.table(t.name)
        const [found] = await table.exists()
        if (found) continue
        await table
          .create({
            schema: { fields: t.schema },
            timePartitioning: { type: "DAY", field: t.partition, expirationMs: String(options.retentionDays * DAY_MS) },
            requirePartitionFilter: true,
            clustering: { fields: t.clustering },
            labels,
            ...(options.kmsKeyName === null ? {} : { encryptionConfiguration: encryption })
          })
          .catch(created)
      }
    },
    catch: (cause) => new WarehouseError({ cause })
  }).pipe(Effect.withSpan("BigQuery.ensureTables"))

/**
 * The BigQuery side of a tenant whose events also go to BigQuery. PostgreSQL stays the intake's
 * store (its duplicate check and dead letters); `load` claims the events not exported yet for an
 * export job recorded in `bq_exports` in the same statement, and loads them with one load job
 * under that job id, so a load that ran before a crash (or whose answer was lost) is not loaded
 * twice: BigQuery refuses the id as a duplicate. It runs every `WORKCAT_BQ_FLUSH_SECONDS` and at
 * each settle, which (`flush`) then recomputes the loaded days' rollup in BigQuery from the raw
 * events there (deduplicated on the event key), in one transaction, before the exports are done.
 */
export class BigQueryExport extends Effect.Service<BigQueryExport>()("workcat/BigQueryExport", {
  scoped: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const tenant = yield* CurrentTenant
    const warehouse = yield* TenantWarehouse
    if (warehouse.kind !== "bigquery") return yield* Effect.dieMessage("BigQueryExport is for tenants whose warehouse is BigQuery")
    const apiEndpoint = Option.getOrUndefined(yield* Config.option(Config.string("WORKCAT_BQ_API_ENDPOINT")).pipe(Effect.orDie))
    const retentionDays = tenant.settings.retentionDays
    const flushSeconds = yield* Config.integer("WORKCAT_BQ_FLUSH_SECONDS").pipe(Config.withDefault(120), Effect.orDie)
    const jobs = yield* makeBigQueryJobs({ ...warehouse, tenant: tenant.id, retentionDays, apiEndpoint }, (billed) =>
      sql`INSERT INTO warehouse_queries (job_id, operation, bytes_billed, cost_usd) VALUES (${billed.jobId}, ${billed.operation}, ${billed.bytesBilled}, ${billed.usd})`.pipe(
        Effect.asVoid,
        Effect.orDie
      )
    )
    const date = jobs.date
    const ready = yield* Effect.cached(
      Effect.zipRight(
        ensureTables(jobs, { tenant: tenant.id, location: warehouse.location, kmsKeyName: warehouse.kmsKeyName, retentionDays }),
        // What the claims find the unexported events by (a few rows at a time: exported ones leave it).
        sql`CREATE INDEX IF NOT EXISTS sso_events_unexported ON sso_events (occurred_at) WHERE exported_job IS NULL`.pipe(
          Effect.mapError((cause) => new WarehouseError({ cause }))
        )
      )
    )
    const raw = jobs.name(RAW_TABLE)
    const rollup = jobs.name(ROLLUP_TABLE)
    /** The bounds every statement on the partitioned tables carries: the days the tenant keeps. */
    const kept = () => {
      const from = addDays(isoDate(new Date()), -retentionDays)
      return { from, fromTime: midnight(from) }
    }

    /** An event as a line of the load job's NDJSON (timestamps in UTC, microseconds). */
    const line = sql`json_build_object(
          'provider', provider, 'event_id', event_id, 'event_type', event_type,
          'occurred_at', to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
          'user_id', user_id, 'app', app, 'app_name', app_name, 'outcome', outcome, 'auth_steps', auth_steps,
          'session_id', session_id, 'country', country,
          'ingested_at', to_char(ingested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text`

    /**
     * Claims up to `EXPORT_ROWS` events not exported yet for a new export job, recorded in the
     * same statement, and returns the job and the rows (no second read of them): the unexported
     * rows are found through a partial index, so a claim costs what it takes, not the day's events.
     * It shares the tenant's key-version lock: a key rotation (which loads every pending export
     * first) never runs beside a claim whose rows are on their way under the old key.
     */
    const claim = Effect.gen(function* () {
      const job = jobIdFor(tenant.schema, randomUUID())
      const rows = yield* sql<{ line: string }>`
        WITH guard AS (
          SELECT 1 FROM tenant_state FOR SHARE
        ), claimed AS (
          UPDATE sso_events SET exported_job = ${job}
          WHERE EXISTS (SELECT 1 FROM guard) AND (tableoid, ctid) IN (
            SELECT tableoid, ctid FROM sso_events WHERE exported_job IS NULL LIMIT ${EXPORT_ROWS} FOR UPDATE SKIP LOCKED)
          RETURNING *
        ), recorded AS (
          INSERT INTO bq_exports (job_id, days, rows)
          SELECT ${job}, array_agg(DISTINCT (occurred_at AT TIME ZONE 'UTC')::date), count(*) FROM claimed HAVING count(*) > 0
        )
        SELECT ${line} AS line FROM claimed`
      return { job, lines: rows.map((r) => r.line) }
    })

    /** The rows of an export a crash or a failed load left pending (read again: the rare way). */
    const pendingLines = (job: string, days: ReadonlyArray<string>) =>
      Effect.map(
        sql<{ line: string }>`
          SELECT ${line} AS line FROM sso_events
          WHERE exported_job = ${job} AND (occurred_at AT TIME ZONE 'UTC')::date = ANY(${days}::date[])
            AND occurred_at >= (${days[0]!}::date::timestamp AT TIME ZONE 'UTC')`,
        (rows) => rows.map((r) => r.line)
      )

    const loaded = (job: string) => sql`UPDATE bq_exports SET state = 'loaded' WHERE job_id = ${job} AND state = 'pending'`

    /** A user's rollup rows from the raw events the condition selects (`@fromTime` and its own parameters), counting a re-delivered event once. */
    const rollupRows = (where: string) => `INSERT INTO ${rollup} (user_id, day, app, accesses, auth_steps)
SELECT user_id, DATE(occurred_at) AS day, app, COUNT(*) AS accesses, SUM(auth_steps) AS auth_steps
FROM (
  SELECT DISTINCT provider, event_id, occurred_at, user_id, app, auth_steps FROM ${raw}
  WHERE occurred_at >= @fromTime AND ${where} AND app IS NOT NULL AND user_id IS NOT NULL
)
GROUP BY user_id, day, app;`

    /** Recomputes these days' rollup in BigQuery from its raw events. */
    const rollUp = (days: ReadonlyArray<string>) => {
      const sorted = [...days].sort()
      const from = sorted[0]!
      const to = addDays(sorted.at(-1)!, 1)
      return jobs.query(
        "rollup",
        `BEGIN TRANSACTION;
DELETE FROM ${rollup} WHERE day >= @from AND day < @to AND day IN UNNEST(@days);
${rollupRows("occurred_at < @toTime AND DATE(occurred_at) IN UNNEST(@days)")}
COMMIT TRANSACTION;`,
        { from: date(from), to: date(to), days: sorted.map(date), fromTime: midnight(from), toTime: midnight(to) },
        { types: { from: "DATE", to: "DATE", days: ["DATE"], fromTime: "TIMESTAMP", toTime: "TIMESTAMP" } }
      )
    }

    /**
     * Loads the exports a crash, a failure, or another process still loading left pending, under
     * their job ids (one that is running is waited for: see `BigQueryJobs.load`). The exports loaded.
     */
    const loadPending = Effect.gen(function* () {
      yield* ready
      const pending = yield* sql<{ jobId: string; days: ReadonlyArray<string> }>`
        SELECT job_id AS "jobId", days::text[] AS days FROM bq_exports WHERE state = 'pending' ORDER BY created_at`
      for (const { days, jobId } of pending) {
        yield* jobs.load(RAW_TABLE, ndjson(yield* pendingLines(jobId, [...days].sort())), jobId)
        yield* loaded(jobId)
      }
      return pending.length
    })

    /**
     * Loads the events not in BigQuery yet: the pending exports, then new claims until none is
     * left, one load job each (at most `EXPORT_ROWS` rows), under the job id recorded with the
     * claim. The export jobs loaded.
     */
    const load = Effect.gen(function* () {
      let count = yield* loadPending
      for (;;) {
        const { job, lines } = yield* claim
        if (lines.length === 0) return count
        yield* jobs.load(RAW_TABLE, ndjson(lines), job)
        yield* loaded(job)
        count++
      }
    })

    /** `load`, then the rollup of the loaded exports' days recomputed in BigQuery, and those exports done. */
    const flush = Effect.gen(function* () {
      yield* load
      const open = yield* sql<{ jobId: string; days: ReadonlyArray<string> }>`
        SELECT job_id AS "jobId", days::text[] AS days FROM bq_exports WHERE state = 'loaded'`
      if (open.length === 0) return 0
      yield* rollUp([...new Set(open.flatMap((e) => e.days))])
      yield* sql`UPDATE bq_exports SET state = 'done', done_at = now() WHERE job_id = ANY(${open.map((e) => e.jobId)}::text[])`
      return open.length
    }).pipe(asWarehouseError, Effect.withSpan("BigQueryExport.flush"))

    /** PostgreSQL's days older than the tenant's `postgresDays` emptied once BigQuery has them (see `trimExported`). */
    const trim = trimExported(warehouse.postgresDays).pipe(Effect.provideService(SqlClient.SqlClient, sql), asWarehouseError)

    /** Events reach BigQuery between settles too: loaded every `WORKCAT_BQ_FLUSH_SECONDS` (0: only at settles). */
    if (flushSeconds > 0) {
      yield* load.pipe(
        Effect.catchAllCause((cause) => Effect.logWarning("loading new events into BigQuery failed; trying again", cause)),
        Effect.repeat(Schedule.spaced(Duration.seconds(flushSeconds))),
        Effect.delay(Duration.seconds(flushSeconds)),
        Effect.forkScoped
      )
    }

    /**
     * Right to forget, in BigQuery: queued (`bq_erasures`), in the caller's transaction, for
     * `erase`; a forget asked again before it is applied moves its time (so `erase` knows which
     * request it applied). Reads of the dataset leave the queued people out meanwhile.
     */
    const forget = (userId: UserId) =>
      sql`
        INSERT INTO bq_erasures (user_id, requested_at) VALUES (${userId}, clock_timestamp())
        ON CONFLICT (user_id) DO UPDATE SET requested_at = excluded.requested_at`.pipe(Effect.as(1), asWarehouseError)

    /** The people whose forget is still to be applied in the dataset. */
    const queued = sql<{ userId: string; requestedAt: string }>`
      SELECT user_id AS "userId", requested_at::text AS "requestedAt" FROM bq_erasures ORDER BY user_id`

    /**
     * The queued forgets applied in the dataset, `ERASE_USERS` people at a time in one transaction
     * of BigQuery's: their raw events, except those PostgreSQL holds of them now (what they did
     * after their forget: a new record there, kept here too), their rollup rows (derived again from
     * what is kept, for someone active again) and their published labels, in every day kept. A
     * DML statement bills the whole of every partition it changes, about the table for someone
     * active on most days: so forgets are applied together, at the start of a night, under the
     * tenant's erasure cap. A forget leaves the queue when applied, unless asked again meanwhile.
     * The people erased.
     */
    const erase = Effect.gen(function* () {
      const all = yield* queued
      if (all.length === 0) return 0
      yield* ready
      const { from, fromTime } = kept()
      for (const chunk of Arr.chunksOf(all, ERASE_USERS)) {
        const users = chunk.map((q) => q.userId)
        const keep = yield* sql<{ provider: string; event_id: string; occurred_at: string; user_id: string }>`
          SELECT provider, event_id, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at, user_id
          FROM sso_events WHERE user_id = ANY(${users}::text[])`
        const returned = [...new Set(keep.map((k) => k.user_id))]
        yield* jobs.query(
          "forget",
          `BEGIN TRANSACTION;
DELETE FROM ${raw} t WHERE t.occurred_at >= @fromTime AND t.user_id IN UNNEST(@users)
  AND NOT EXISTS (SELECT 1 FROM UNNEST(@keep) AS k WHERE k.provider = t.provider AND k.event_id = t.event_id AND k.occurred_at = t.occurred_at);
DELETE FROM ${rollup} WHERE day >= @from AND user_id IN UNNEST(@users);
${returned.length > 0 ? rollupRows("user_id IN UNNEST(@returned)") : ""}
DELETE FROM ${jobs.name(CATEGORIES_TABLE)} WHERE as_of >= @from AND user_id IN UNNEST(@users);
COMMIT TRANSACTION;`,
          {
            users,
            keep: keep.map(({ event_id, occurred_at, provider }) => ({ provider, event_id, occurred_at: jobs.timestamp(occurred_at) })),
            ...(returned.length > 0 ? { returned } : {}),
            from: date(from),
            fromTime
          },
          {
            types: {
              users: ["STRING"],
              keep: [{ provider: "STRING", event_id: "STRING", occurred_at: "TIMESTAMP" }],
              ...(returned.length > 0 ? { returned: ["STRING"] } : {}),
              from: "DATE",
              fromTime: "TIMESTAMP"
            },
            cap: "erasure"
          }
        )
        yield* sql`
          DELETE FROM bq_erasures q USING unnest(${users}::text[], ${chunk.map((c) => c.requestedAt)}::timestamptz[]) AS a(user_id, requested_at)
          WHERE q.user_id = a.user_id AND q.requested_at = a.requested_at`
      }
      return all.length
    }).pipe(asWarehouseError, Effect.withSpan("BigQueryExport.erase"))

    /** Retention, in BigQuery: the events and rollup rows of days before `cutoff` (partitions expire by themselves too, at the tenant's retention). */
    const dropBefore = (cutoff: string) =>
      Effect.gen(function* () {
        yield* ready
        yield* jobs.query(
          "retention",
          `BEGIN TRANSACTION;
DELETE FROM ${raw} WHERE occurred_at < @cutoffTime;
DELETE FROM ${rollup} WHERE day < @cutoff;
COMMIT TRANSACTION;`,
          { cutoff: date(cutoff), cutoffTime: midnight(cutoff) },
          { types: { cutoff: "DATE", cutoffTime: "TIMESTAMP" } }
        )
      }).pipe(asWarehouseError, Effect.withSpan("BigQueryExport.dropBefore"))

    /**
     * Key rotation, in BigQuery (in the rotation's transaction, under its key-version lock):
     * first every pending export is loaded, so no row under the old key is still on its way;
     * then every user pseudonym and session hash of the dataset (and the `local` ones PostgreSQL
     * holds) becomes `next` of itself. The values are read from BigQuery page by page (two years
     * of session hashes do not fit a query parameter, nor memory), their pairs loaded into a
     * mapping table `REKEY_TABLE` (encrypted with the tenant's key; it expires within a day should
     * a crash leave it, and is deleted at the end), and the raw events, the rollup and the
     * published labels updated from it in one transaction, under the erasure cap. The distinct
     * values re-keyed.
     */
    const rekey = (next: (old: string) => string, local: ReadonlySet<string>) =>
      Effect.gen(function* () {
        yield* loadPending
        const { from, fromTime } = kept()
        const map = jobs.dataset.table(REKEY_TABLE)
        yield* Effect.tryPromise(() => map.delete()).pipe(Effect.ignore)
        yield* Effect.tryPromise(() =>
          map.create({
            schema: { fields: [field("old", "STRING", "REQUIRED"), field("new", "STRING", "REQUIRED")] },
            expirationTime: String(Date.now() + DAY_MS),
            labels: { app: "workcat", tenant: tenant.id },
            ...(warehouse.kmsKeyName === null ? {} : { encryptionConfiguration: { kmsKeyName: warehouse.kmsKeyName } })
          })
        )
        const rotation = randomUUID()
        let loads = 0
        let batch: Array<string> = []
        const flushPairs = Effect.suspend(() => {
          if (batch.length === 0) return Effect.void
          const body = ndjson(batch.map((old) => JSON.stringify({ old, new: next(old) })))
          batch = []
          return Effect.asVoid(jobs.load(REKEY_TABLE, body, jobIdFor(tenant.id, warehouse.dataset, rotation, String(loads++))))
        })
        // Pairs go in loads of up to `REKEY_LOAD` (BigQuery allows 1,500 loads of a table a day).
        const add = (ids: ReadonlyArray<string>) =>
          Effect.suspend(() => {
            for (const id of ids) batch.push(id)
            return batch.length >= REKEY_LOAD ? flushPairs : Effect.void
          })
        yield* add([...local])
        const params = { from: date(from), fromTime }
        const types = { from: "DATE", fromTime: "TIMESTAMP" }
        yield* jobs.queryPages<{ id: string }, WarehouseError | BigQueryRefused>(
          "rekey_ids",
          `SELECT id FROM (
  SELECT user_id AS id FROM ${raw} WHERE occurred_at >= @fromTime
  UNION DISTINCT SELECT session_id AS id FROM ${raw} WHERE occurred_at >= @fromTime
  UNION DISTINCT SELECT user_id AS id FROM ${rollup} WHERE day >= @from
) WHERE id IS NOT NULL`,
          params,
          { types, pageRows: REKEY_PAGE, cap: "erasure" },
          (rows) => add(rows.map((r) => r.id))
        )
        yield* flushPairs
        const pairs = `(SELECT DISTINCT old, new FROM ${jobs.name(REKEY_TABLE)})`
        // Counted before the update: nothing but the update may fail once the dataset is on the new key.
        const [counted] = yield* jobs.query<{ n: number }>("rekey_count", `SELECT COUNT(DISTINCT old) AS n FROM ${jobs.name(REKEY_TABLE)}`)
        yield* jobs.query(
          "rekey",
          `BEGIN TRANSACTION;
UPDATE ${raw} t SET user_id = m.new FROM ${pairs} AS m WHERE t.occurred_at >= @fromTime AND t.user_id = m.old;
UPDATE ${raw} t SET session_id = m.new FROM ${pairs} AS m WHERE t.occurred_at >= @fromTime AND t.session_id = m.old;
UPDATE ${rollup} t SET user_id = m.new FROM ${pairs} AS m WHERE t.day >= @from AND t.user_id = m.old;
UPDATE ${jobs.name(CATEGORIES_TABLE)} t SET user_id = m.new FROM ${pairs} AS m WHERE t.as_of >= @from AND t.user_id = m.old;
COMMIT TRANSACTION;`,
          params,
          { types, cap: "erasure" }
        )
        yield* Effect.tryPromise(() => map.delete()).pipe(Effect.ignore)
        return Number(counted?.n ?? 0)
      }).pipe(asWarehouseError, Effect.withSpan("BigQueryExport.rekey"))

    /**
     * A night's window sums (see `WindowSource`), computed from the rollup in BigQuery: two
     * queries of the profile window's partitions, without the people whose forget is queued.
     */
    const windowSums = (w: NightWindows) =>
      Effect.gen(function* () {
        yield* ready
        const params = {
          start: date(addDays(w.date, -w.profileWindowDays)),
          end: date(w.date),
          recent: date(addDays(w.date, -w.recentWindowDays)),
          metrics: date(addDays(w.date, -w.metricsWindowDays)),
          // Whoever was forgotten since the last erasure: still in the dataset, never in a night.
          forgotten: (yield* queued).map((q) => q.userId)
        }
        const types = { start: "DATE", end: "DATE", recent: "DATE", metrics: "DATE", forgotten: ["STRING"] }
        const numbers = <A extends object>(rows: ReadonlyArray<A>) =>
          rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "string" && k !== "user_id" && k !== "app" ? Number(v) : v])) as A)
        const [apps, users] = yield* Effect.all([
          jobs.query<AppSums>(
            "window_sums_apps",
            `SELECT user_id, app, SUM(accesses) AS accesses, SUM(auth_steps) AS auth_steps, COUNT(*) AS days,
  SUM(IF(day >= @recent, accesses, 0)) AS recent_accesses, COUNTIF(day >= @recent) AS recent_days,
  SUM(IF(day >= @metrics, accesses, 0)) AS metric_accesses, SUM(IF(day >= @metrics, auth_steps, 0)) AS metric_auth_steps,
  COUNTIF(day >= @metrics) AS metric_days
FROM ${rollup} WHERE day >= @start AND day < @end AND user_id NOT IN UNNEST(@forgotten)
GROUP BY user_id, app`,
            params,
            { types }
          ),
          jobs.query<UserSums>(
            "window_sums_users",
            `SELECT user_id, COUNT(DISTINCT day) AS days, COUNT(DISTINCT IF(day >= @recent, day, NULL)) AS recent_days,
  COUNT(DISTINCT IF(day >= @metrics, day, NULL)) AS metric_days
FROM ${rollup} WHERE day >= @start AND day < @end AND user_id NOT IN UNNEST(@forgotten)
GROUP BY user_id`,
            params,
            { types }
          )
        ])
        return { apps: numbers(apps), users: numbers(users) }
      }).pipe(Effect.withSpan("BigQueryExport.windowSums"))

    /**
     * A READY night's results in the dataset: every categorized user's label and the night's
     * metrics, as of its date, one load job per table under a job id of the run's (a retried
     * publish loads nothing twice). A re-run of a date adds that run's rows: readers take the
     * latest `run_id` of an `as_of`.
     */
    const publish = (runId: string, date: string) =>
      Effect.gen(function* () {
        yield* ready
        const categories = yield* sql<{ line: string }>`
          SELECT json_build_object(
            'as_of', ${date}::text, 'user_id', user_id, 'category', category, 'confidence', confidence, 'explanation', explanation,
            'recommendations', recommendations::text, 'evidence_apps', evidence_apps::text, 'alternatives', alternatives::text,
            'reasons', reasons::text, 'categorizer', categorizer, 'run_id', run_id::text,
            'categorized_at', to_char(categorized_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text AS line
          FROM work_categories ORDER BY user_id`
        const metrics = yield* sql<{ line: string }>`
          SELECT json_build_object(
            'as_of', as_of::text, 'group_by', group_by, 'group_value', group_value, 'window_days', window_days, 'employees', employees,
            'active_days', active_days, 'accesses', accesses, 'avg_auth_step', avg_auth_step, 'distinct_apps_per_day', distinct_apps_per_day,
            'auth_waste_hours', auth_waste_hours, 'context_switch_waste_hours', context_switch_waste_hours,
            'waste_hours_per_employee_week', waste_hours_per_employee_week, 'run_id', run_id::text)::text AS line
          FROM productivity_metrics WHERE as_of = ${date}::date ORDER BY group_by, group_value`
        for (const [table, lines] of [[CATEGORIES_TABLE, categories], [METRICS_TABLE, metrics]] as const) {
          if (lines.length > 0) yield* jobs.load(table, ndjson(lines.map((l) => l.line)), jobIdFor(tenant.id, warehouse.dataset, runId, table))
        }
        return categories.length + metrics.length
      }).pipe(asWarehouseError, Effect.withSpan("BigQueryExport.publish"))

    return { flush, trim, forget, erase, rekey, dropBefore, windowSums, publish } as const
  })
}) {}
