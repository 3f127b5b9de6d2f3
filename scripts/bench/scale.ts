/**
 * `npm run bench:scale -- [--employees 50000,100000] [--apps-per-day 8] [--keep]`
 *
 * One night of a tenant with the seed's shape, at each size, against the targets: the night
 * (select, categorize, materialize) within 30 s at 50,000 employees, peak RSS within 512 MiB at
 * every size, and the largest size taking at most twice as long per employee doubling.
 * For each size, on the same PostgreSQL server (a fresh embedded cluster, or DATABASE_URL):
 * 1. A tenant is created and seeded in SQL, not timed: every employee hired long ago with a title
 *    and department from one of the built-in role archetypes; 90 days of the daily rollup written
 *    straight into the warehouse (`--apps-per-day` apps of their role a day, about 200 accesses a
 *    day in all, the equivalent of 200 events per person a day without the raw events); everyone
 *    already categorized within the last 59 days (so the periodic slice is the 1/60 whose night it
 *    is); 10 role changes effective yesterday; 5 hires of last week; 1 in 500 people switching to
 *    another role's apps in the last 14 days (the anomaly trigger's case). Then yesterday's window
 *    sums (see `WindowSums`), which tonight's are built from, as a first night builds them: from
 *    the whole rollup; timed and printed apart.
 * 2. The night: `scaleNight.ts` in a child process (the real runtime, pipeline and offline
 *    categorizer); its wall time, its peak RSS, and each stage's time from the run's checkpoints.
 */
import { Command, Options } from "@effect/cli"
import * as Shell from "@effect/platform/Command"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import * as SqlClient from "@effect/sql/SqlClient"
import { addDays, DefaultArchetypes, type IsoDate, isoDate } from "@workcat/core"
import { BaseLive, CliOutput, Employees, TenantCommandLive, WindowSums } from "@workcat/pipeline"
import { defaultNightly, TenantId, TenantRegistry } from "@workcat/tenancy"
import { Config, Console, Data, Effect, Layer, Schema, Stream } from "effect"
import { fileURLToPath } from "node:url"
import { benchDatabase } from "./Database.js"

const NIGHT = fileURLToPath(new URL("./scaleNight.ts", import.meta.url))
const TSX = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url))
const TARGET = { nightSecondsAt50k: 30, peakRssMiB: 512, doubling: 2 }
const MiB = 1024 * 1024
const ROLE_CHANGES = 10
const NEW_HIRES = 5
const SWITCHER_EVERY = 500

class BenchFailed extends Data.TaggedError("BenchFailed")<{ readonly message: string }> {}

/** Each archetype as a role: its category, first title, a department, and its apps (common ones first). */
const roles = DefaultArchetypes.archetypes.map((a) => ({
  category: a.category,
  title: a.titles[0],
  department: a.category.split("_").map((w) => w[0]!.toUpperCase() + w.slice(1)).join(" "),
  apps: [...DefaultArchetypes.common.slice(0, 4), ...a.slots].map((s) => s.apps[0])
}))

/** Seeds a tenant of `employees` people for a night on `date` (see the header). */
const seed = (employees: number, appsPerDay: number, date: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const roleJson = JSON.stringify(roles)
    const total = employees + NEW_HIRES
    // People: u_<md5>, role i % roles; the last NEW_HIRES are last week's hires.
    yield* sql`
      CREATE TEMP TABLE bench_people ON COMMIT PRESERVE ROWS AS
      SELECT i, 'u_' || md5('bench-scale:' || i) AS user_id, (i % ${roles.length}) AS role, i >= ${employees} AS new_hire
      FROM generate_series(0, ${total - 1}) AS i`
    yield* sql`
      CREATE TEMP TABLE bench_roles AS
      SELECT (n - 1)::int AS role, r->>'category' AS category, r->>'title' AS title, r->>'department' AS department,
             ARRAY(SELECT json_array_elements_text(r->'apps')) AS apps
      FROM json_array_elements(${roleJson}::json) WITH ORDINALITY AS t(r, n)`
    yield* sql`
      INSERT INTO hr_events (event_id, user_id, type, effective_date, title, department, team)
      SELECT 'hire:' || p.i, p.user_id, 'hire', CASE WHEN p.new_hire THEN ${addDays(date, -3)}::date ELSE DATE '2023-01-09' END,
             r.title, r.department, r.department || ' ' || (p.i % 7 + 1)
      FROM bench_people p JOIN bench_roles r USING (role)`
    yield* sql`
      INSERT INTO hr_events (event_id, user_id, type, effective_date, title, department, team)
      SELECT 'change:' || p.i, p.user_id, 'role_change', ${addDays(date, -1)}::date, r.title, r.department, r.department || ' 1'
      FROM bench_people p JOIN bench_roles r ON r.role = (p.role + 1) % ${roles.length}
      WHERE p.i < ${ROLE_CHANGES}`
    // Everyone but the new hires categorized within the last 59 days, before the role changes.
    yield* sql`
      INSERT INTO work_categories (user_id, category, confidence, explanation, recommendations, evidence_apps, alternatives, reasons,
                                   categorizer, run_id, categorized_at)
      SELECT p.user_id, r.category, 0.9, 'seeded by bench:scale', '[]', '[]', '[]', '["uncategorized"]', 'offline',
             '00000000-0000-4000-8000-000000000000', ${addDays(date, -2)}::date - (p.i % 58) * interval '1 day'
      FROM bench_people p JOIN bench_roles r USING (role) WHERE NOT p.new_hire`
    // The rollup: 90 days (new hires: since their hire), appsPerDay of the role's apps a day; a
    // switcher uses the next role's apps in the last 14 days.
    // Day by day, oldest first, as the settles of a live tenant write it (a day's rows together).
    for (let d = 90; d >= 1; d--) {
      yield* sql`
        INSERT INTO user_app_daily (user_id, day, app, accesses, auth_steps)
        SELECT p.user_id, ${date}::date - ${d}::int, r.apps[1 + (p.i * 7 + ${d}::int + k) % array_length(r.apps, 1)],
               greatest(1, 200 / ${appsPerDay} + (p.i + ${d}::int + k) % 9 - 4), greatest(1, 200 / ${appsPerDay} + (p.i + ${d}::int + k) % 9 - 4) + k % 3
        FROM bench_people p
        CROSS JOIN generate_series(0, ${appsPerDay - 1}) AS k
        JOIN bench_roles r ON r.role = CASE WHEN p.i % ${SWITCHER_EVERY} = 1 AND ${d}::int <= 14 THEN (p.role + 3) % ${roles.length} ELSE p.role END
        WHERE k < array_length(r.apps, 1) AND (NOT p.new_hire OR ${d}::int <= 3)`
    }
    yield* sql`ANALYZE`
    yield* Effect.flatMap(Employees, (e) => e.refreshDue(date as IsoDate))
    const [rows] = yield* sql<{ n: string }>`SELECT count(*) AS n FROM user_app_daily`
    // Yesterday's night left its window sums: tonight's are built from them. Built here from the
    // whole rollup, as a tenant's first night does, and timed apart.
    const building = performance.now()
    yield* Effect.flatMap(WindowSums, (sums) => sums.use({ ...defaultNightly, date: addDays(date, -1) }, () => Effect.void))
    return { rollupRows: Number(rows!.n), firstBuildSeconds: (performance.now() - building) / 1000 }
  }).pipe(
    Effect.tapError((e) => Console.error(`seeding: ${String((e.cause as { message?: string } | undefined)?.message ?? e.message)}`)),
    Effect.orDie
  )

const NightReport = Schema.Struct({
  state: Schema.String,
  id: Schema.String,
  seconds: Schema.Number,
  peakRssBytes: Schema.Number,
  summary: Schema.NullOr(Schema.Struct({ selected: Schema.Number, categorized: Schema.Number, byReason: Schema.Record({ key: Schema.String, value: Schema.Number }) }))
})

const night = (tenant: TenantId, date: string, env: Record<string, string>) =>
  Effect.gen(function* () {
    const child = yield* Shell.make(TSX, "--conditions=workcat-source", NIGHT, tenant, date).pipe(Shell.env(env), Shell.stderr("inherit"), Shell.start)
    const [stdout, exitCode] = yield* Effect.all([child.stdout.pipe(Stream.decodeText(), Stream.mkString), child.exitCode], { concurrency: 2 })
    if (exitCode !== 0) return yield* new BenchFailed({ message: `the night exited with ${exitCode}:\n${stdout}` })
    return yield* Schema.decode(Schema.parseJson(NightReport))(stdout.trim().split("\n").at(-1)!).pipe(Effect.orDie)
  }).pipe(Effect.scoped)

/**
 * Each stage's time: from the end of the one before (the first: from the night's start, `seconds`
 * before the last stage ended) to its own end, from the run's checkpoints.
 */
const stageSeconds = (runId: string, seconds: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ stage: string; finished: number }>`
      SELECT stage, extract(epoch FROM finished_at)::float8 AS finished FROM run_stages WHERE run_id = ${runId} ORDER BY finished_at`
  ).pipe(
    Effect.orDie,
    Effect.map((rows) => {
      let previous = (rows.at(-1)?.finished ?? 0) - seconds
      return rows.map(({ finished, stage }) => {
        const took = finished - previous
        previous = finished
        return { stage, seconds: took }
      })
    })
  )

const int = (n: number) => Math.round(n).toLocaleString("en-US")
const verdict = (ok: boolean) => (ok ? "PASS" : "FAIL")

const bench = Command.make(
  "bench-scale",
  {
    employees: Options.text("employees").pipe(
      Options.withSchema(Schema.compose(Schema.split(","), Schema.NonEmptyArray(Schema.NumberFromString.pipe(Schema.int(), Schema.between(100, 1_000_000))))),
      Options.withDefault([50_000, 100_000] as const),
      Options.withDescription("tenant sizes, comma-separated")
    ),
    appsPerDay: Options.integer("apps-per-day").pipe(Options.withSchema(Schema.Int.pipe(Schema.between(1, 12))), Options.withDefault(8)),
    keep: Options.boolean("keep").pipe(Options.withDescription("Keep the tenants and the embedded cluster"))
  },
  (args) =>
    Effect.gen(function* () {
      const { config, label, url } = yield* benchDatabase
      const base = BaseLive.pipe(Layer.provide(config))
      const masterKey = yield* Config.string("WORKCAT_MASTER_KEY").pipe(Effect.provide(config))
      const date = isoDate(new Date())
      yield* Console.log(`bench:scale on ${date}: sizes ${args.employees.map(int).join(", ")}, ${args.appsPerDay} apps a day; PostgreSQL ${label}`)
      const results: Array<{ employees: number; seconds: number; rssMiB: number; line: string }> = []
      for (const employees of args.employees) {
        const tenant = TenantId.make(`bench_scale_${employees}_${Date.now().toString(36)}`)
        yield* Effect.flatMap(TenantRegistry, (r) => r.create(tenant)).pipe(Effect.provide(base))
        const seeding = performance.now()
        const { firstBuildSeconds, rollupRows } = yield* seed(employees, args.appsPerDay, date).pipe(
          Effect.provide(TenantCommandLive(tenant).pipe(Layer.provide(config)))
        )
        yield* Console.log(
          `${int(employees)} employees: seeded ${int(rollupRows)} rollup rows in ${((performance.now() - seeding) / 1000).toFixed(0)} s (not measured), ` +
            `yesterday's window sums built from the whole rollup in ${firstBuildSeconds.toFixed(1)} s (a first night's extra); the night …`
        )
        const report = yield* night(tenant, date, { DATABASE_URL: url, WORKCAT_MASTER_KEY: masterKey, WORKCAT_LOG_LEVEL: "Warning" })
        if (report.state !== "READY") return yield* new BenchFailed({ message: `the night of ${tenant} ended ${report.state}` })
        const stages = yield* stageSeconds(report.id, report.seconds).pipe(Effect.provide(TenantCommandLive(tenant).pipe(Layer.provide(config))))
        const rssMiB = report.peakRssBytes / MiB
        const line = [
          `${int(employees).padStart(9)} employees`,
          `night ${report.seconds.toFixed(1)} s`,
          stages.map((s) => `${s.stage} ${s.seconds.toFixed(1)} s`).join(", "),
          `peak RSS ${rssMiB.toFixed(0)} MiB`,
          `selected ${int(report.summary?.selected ?? 0)} (${Object.entries(report.summary?.byReason ?? {}).map(([k, v]) => `${k} ${v}`).join(", ")})`
        ].join(" | ")
        yield* Console.log(line)
        results.push({ employees, seconds: report.seconds, rssMiB, line })
        if (!args.keep) yield* Effect.flatMap(TenantRegistry, (r) => r.remove(tenant)).pipe(Effect.provide(base))
      }
      const at50k = results.find((r) => r.employees === 50_000)
      const largest = results.at(-1)!
      const smallest = results[0]!
      const doublings = Math.log2(largest.employees / smallest.employees)
      const growth = doublings > 0 ? (largest.seconds / smallest.seconds) ** (1 / doublings) : null
      yield* Console.log(
        [
          "",
          `night at 50,000 employees: ${at50k === undefined ? "not measured" : `${at50k.seconds.toFixed(1)} s (target <= ${TARGET.nightSecondsAt50k} s) ${verdict(at50k.seconds <= TARGET.nightSecondsAt50k)}`}`,
          `peak RSS, largest of all sizes: ${Math.max(...results.map((r) => r.rssMiB)).toFixed(0)} MiB (target <= ${TARGET.peakRssMiB} MiB) ${verdict(results.every((r) => r.rssMiB <= TARGET.peakRssMiB))}`,
          `time per doubling of employees: ${growth === null ? "needs two sizes" : `${growth.toFixed(2)}x (target <= ${TARGET.doubling}x) ${verdict(growth <= TARGET.doubling)}`}`
        ].join("\n")
      )
    }).pipe(Effect.scoped)
)

Command.run(bench, { name: "bench-scale", version: "0.1.0" })(process.argv).pipe(
  CliOutput.exitOnFailure,
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ teardown: CliOutput.teardown })
)
