/**
 * `npm run bench:warehouse -- [--employees 50000] [--events-per-day 200] [--apps-per-day 8] [--days 90] [--retention-days 730] [--usd-per-tib 6.25]`
 *
 * What a night costs in BigQuery for a tenant of the seed's shape, from BigQuery's on-demand
 * billing model: a query bills the bytes of the columns it reads, in the partitions it scans (a
 * STRING is 2 bytes plus its UTF-8 length, INT64, FLOAT64, TIMESTAMP and DATE 8 bytes), at least
 * 10 MB a query; load jobs are free. The average size of each column is measured on raw events of
 * the synthetic generator (pseudonymized as the intake stores them), not assumed. For each of the
 * night's queries (`warehouse/bigquery/BigQueryExport.ts`) it prints the bytes billed as the
 * adapter runs them (the rollup, partition pruning), then the same reads without partition
 * pruning and against the raw events instead of the rollup, and the cost per night and per month
 * beside the seed's infrastructure figure for the whole deployment (about $1,800 a month).
 * With `WORKCAT_BQ_PROJECT` and credentials set, the model's bytes are printed beside BigQuery's
 * own dry-run estimate of the same SQL against that project's dataset `WORKCAT_BQ_DATASET`.
 */
import { Command, Options } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { DefaultAppCatalog, decodeRecords, isoDate, makePseudonyms } from "@workcat/core"
import { CliOutput, generate, makeBigQueryJobs, RAW_SCHEMA, ROLLUP_SCHEMA } from "@workcat/pipeline"
import { Console, Effect } from "effect"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const MB = 1024 * 1024
const GiB = 1024 ** 3
const TiB = 1024 ** 4
const MIN_BILLED = 10 * MB
const SEED_MONTHLY_USD = 1_800

const fixedSize = (type: string) => (type === "STRING" ? null : 8)

/** Average billed bytes of each raw column, measured on generated events as the intake stores them. */
const measureRaw = () =>
  Effect.gen(function* () {
    const out = mkdtempSync(join(tmpdir(), "workcat-bench-warehouse-"))
    const sample = yield* generate({ tenant: "bench", employees: 200, days: 7, seed: "7", end: isoDate(new Date()), out })
    const lines = readFileSync(sample.events, "utf8").split("\n").filter((l) => l !== "")
    rmSync(out, { recursive: true, force: true })
    const pseudonyms = makePseudonyms([new Uint8Array(32).fill(7)])
    const sizes = new Map<string, { total: number; n: number }>()
    for (const line of lines) {
      for (const { result } of decodeRecords("okta", JSON.parse(line), DefaultAppCatalog, pseudonyms)) {
        if (result._tag !== "Right") continue
        const e = result.right
        const row: Record<string, unknown> = {
          provider: e.provider, event_id: e.eventId, event_type: e.eventType, occurred_at: e.occurredAt, user_id: e.userId, app: e.app,
          app_name: e.appName, outcome: e.outcome, auth_steps: e.authSteps, session_id: e.sessionId, country: e.country, ingested_at: e.occurredAt
        }
        for (const f of RAW_SCHEMA) {
          const v = row[f.name]
          const bytes = v === null || v === undefined ? 0 : (fixedSize(f.type) ?? 2 + Buffer.byteLength(String(v)))
          const s = sizes.get(f.name) ?? { total: 0, n: 0 }
          sizes.set(f.name, { total: s.total + bytes, n: s.n + 1 })
        }
      }
    }
    return new Map([...sizes].map(([k, s]) => [k, s.total / s.n]))
  })

const bench = Command.make(
  "bench-warehouse",
  {
    employees: Options.integer("employees").pipe(Options.withDefault(50_000)),
    eventsPerDay: Options.integer("events-per-day").pipe(Options.withDefault(200)),
    appsPerDay: Options.integer("apps-per-day").pipe(Options.withDefault(8)),
    days: Options.integer("days").pipe(Options.withDefault(90)),
    retentionDays: Options.integer("retention-days").pipe(Options.withDefault(730)),
    usdPerTib: Options.float("usd-per-tib").pipe(Options.withDefault(6.25))
  },
  (args) =>
    Effect.gen(function* () {
      const raw = yield* measureRaw()
      const rawRow = (columns: ReadonlyArray<string>) => columns.reduce((n, c) => n + (raw.get(c) ?? 0), 0)
      // The rollup's columns: the pseudonym and app key as measured on the raw events, the rest fixed.
      const rollupRow = (columns: ReadonlyArray<string>) =>
        columns.reduce((n, c) => n + (c === "user_id" || c === "app" ? (raw.get(c) ?? 0) : fixedSize(ROLLUP_SCHEMA.find((f) => f.name === c)!.type)!), 0)
      const eventsPerDay = args.employees * args.eventsPerDay
      const rollupRowsPerDay = args.employees * args.appsPerDay
      const billed = (bytes: number) => Math.max(MIN_BILLED, bytes)
      const rollupColumns = ["provider", "event_id", "occurred_at", "user_id", "app", "auth_steps"]
      const sumsApps = ["user_id", "app", "accesses", "auth_steps", "day"]
      const sumsUsers = ["user_id", "day"]
      // The same sums read from the raw events: the pseudonym, the app, the time and the auth steps of every event.
      const rawSums = ["user_id", "app", "occurred_at", "auth_steps"]
      const queries = [
        // The settle deletes the day's rollup partition first: a DELETE bills the partitions it changes whole.
        {
          query: "settle: a day's rollup from its raw events",
          bytes: eventsPerDay * rawRow(rollupColumns) + rollupRowsPerDay * rollupRow(ROLLUP_SCHEMA.map((f) => f.name)),
          unpruned: eventsPerDay * args.retentionDays * rawRow(rollupColumns) + rollupRowsPerDay * args.retentionDays * rollupRow(ROLLUP_SCHEMA.map((f) => f.name)),
          fromRaw: null
        },
        {
          query: `window sums, apps (${args.days} days of rollup)`,
          bytes: rollupRowsPerDay * args.days * rollupRow(sumsApps),
          unpruned: rollupRowsPerDay * args.retentionDays * rollupRow(sumsApps),
          fromRaw: eventsPerDay * args.days * rawRow(rawSums)
        },
        {
          query: `window sums, users (${args.days} days of rollup)`,
          bytes: rollupRowsPerDay * args.days * rollupRow(sumsUsers),
          unpruned: rollupRowsPerDay * args.retentionDays * rollupRow(sumsUsers),
          fromRaw: eventsPerDay * args.days * rawRow(["user_id", "occurred_at"])
        }
      ]
      const usd = (bytes: number) => (bytes / TiB) * args.usdPerTib
      const gib = (bytes: number) => `${(bytes / GiB).toFixed(2)} GiB`
      yield* Console.log(
        `tenant: ${args.employees.toLocaleString("en-US")} employees, ${args.eventsPerDay} events a person a day (${(eventsPerDay / 1e6).toFixed(1)} M a day), ` +
          `${args.appsPerDay} apps a person a day, ${args.days}-day profile window, ${args.retentionDays} days kept; on-demand $${args.usdPerTib}/TiB`
      )
      yield* Console.log(`raw event, billed bytes of the columns the settle reads: ${rawRow(rollupColumns).toFixed(1)} (measured on generated events); rollup row read by the sums: ${rollupRow(sumsApps).toFixed(1)}`)
      yield* Console.log("")
      yield* Console.log(`${"query".padEnd(40)} ${"as run".padStart(12)} ${"no pruning".padStart(12)} ${"from raw".padStart(12)}`)
      for (const q of queries) {
        yield* Console.log(`${q.query.padEnd(40)} ${gib(billed(q.bytes)).padStart(12)} ${gib(billed(q.unpruned)).padStart(12)} ${(q.fromRaw === null ? "-" : gib(billed(q.fromRaw))).padStart(12)}`)
      }
      const night = queries.reduce((n, q) => n + billed(q.bytes), 0)
      const unpruned = queries.reduce((n, q) => n + billed(q.unpruned), 0)
      const fromRaw = queries.reduce((n, q) => n + billed(q.fromRaw ?? q.bytes), 0)
      yield* Console.log("")
      yield* Console.log(`${"per night".padEnd(40)} ${`$${usd(night).toFixed(3)}`.padStart(12)} ${`$${usd(unpruned).toFixed(2)}`.padStart(12)} ${`$${usd(fromRaw).toFixed(2)}`.padStart(12)}`)
      yield* Console.log(`${"per month (30 nights)".padEnd(40)} ${`$${(30 * usd(night)).toFixed(2)}`.padStart(12)} ${`$${(30 * usd(unpruned)).toFixed(2)}`.padStart(12)} ${`$${(30 * usd(fromRaw)).toFixed(2)}`.padStart(12)}`)
      yield* Console.log(`seed's infrastructure, whole deployment, per month: $${SEED_MONTHLY_USD.toLocaleString("en-US")} (the night's BigQuery queries as run: ${((100 * 30 * usd(night)) / SEED_MONTHLY_USD).toFixed(2)}% of it)`)
      yield* Console.log("(loads, exports and the night's published results are load jobs: free; storage is not counted here)")
      // Statements that change rows bill what they read plus every column of each partition they
      // change (BigQuery's t'): for people active on most days, about the whole table.
      const rawAll = eventsPerDay * args.retentionDays * rawRow(RAW_SCHEMA.map((f) => f.name))
      const rollupAll = rollupRowsPerDay * args.retentionDays * rollupRow(ROLLUP_SCHEMA.map((f) => f.name))
      const rawRead = (columns: ReadonlyArray<string>) => eventsPerDay * args.retentionDays * rawRow(columns)
      const rollupRead = (columns: ReadonlyArray<string>) => rollupRowsPerDay * args.retentionDays * rollupRow(columns)
      const erasure = billed(rawRead(["user_id", "occurred_at"]) + rawAll) + billed(rollupRead(["user_id", "day"]) + rollupAll)
      const rotation =
        billed(rawRead(["user_id", "session_id", "occurred_at"])) + billed(rollupRead(["user_id", "day"])) +
        billed(rawRead(["user_id", "occurred_at"]) + rawAll) + billed(rawRead(["session_id", "occurred_at"]) + rawAll) + billed(rollupRead(["user_id", "day"]) + rollupAll)
      yield* Console.log("")
      yield* Console.log(`raw table over ${args.retentionDays} days: ${(rawAll / TiB).toFixed(1)} TiB; rollup: ${gib(rollupAll)}`)
      yield* Console.log(`${"a night's forgets (one DELETE per table)".padEnd(40)} ${gib(erasure).padStart(12)} $${usd(erasure).toFixed(2)} (whatever their number; one forget at a time: that per forget)`)
      yield* Console.log(`${"a key rotation (read, three UPDATEs)".padEnd(40)} ${gib(rotation).padStart(12)} $${usd(rotation).toFixed(2)}`)
      const project = process.env.WORKCAT_BQ_PROJECT
      if (project === undefined) {
        yield* Console.log("dry runs against BigQuery: skipped (set WORKCAT_BQ_PROJECT, WORKCAT_BQ_DATASET and credentials to print them)")
        return
      }
      const dataset = process.env.WORKCAT_BQ_DATASET ?? "workcat_bench"
      const jobs = yield* makeBigQueryJobs(
        {
          kind: "bigquery", project, dataset, location: process.env.WORKCAT_BQ_LOCATION ?? "US", kmsKeyName: null, maxBytesBilled: TiB,
          usdPerTib: args.usdPerTib, maxErasureBytesBilled: 100 * TiB, postgresDays: 7, tenant: "bench", retentionDays: args.retentionDays, apiEndpoint: process.env.WORKCAT_BQ_API_ENDPOINT
        },
        () => Effect.void
      )
      const table = (t: string) => `\`${project}.${dataset}.${t}\``
      const dry = (query: string) => jobs.estimate(query).pipe(Effect.orDie)
      const end = new Date().toISOString().slice(0, 10)
      yield* Console.log(`dry runs against ${project}.${dataset} (BigQuery's estimate, for the data that dataset holds):`)
      yield* Console.log(`  window sums, apps: ${gib(yield* dry(`SELECT user_id, app, SUM(accesses), SUM(auth_steps), COUNT(*) FROM ${table("user_app_daily")} WHERE day >= DATE_SUB(DATE '${end}', INTERVAL ${args.days} DAY) AND day < DATE '${end}' GROUP BY 1, 2`))}`)
    })
)

Command.run(bench, { name: "bench-warehouse", version: "0.1.0" })(process.argv).pipe(
  CliOutput.exitOnFailure,
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ teardown: CliOutput.teardown })
)
