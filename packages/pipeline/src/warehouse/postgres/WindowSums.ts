import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { addDays, dayNumber, type IsoDate, type UserId } from "@workcat/core"
import { Array as Arr, Effect, Schedule } from "effect"
import type { NightWindows } from "../EventWarehouse.js"
import { WindowSource } from "../WindowSource.js"
import { EventStore } from "./EventStore.js"

/** The tables of one night's window sums. */
export interface WindowTables {
  /**
   * Per user and app: `accesses`, `auth_steps` and `days` (active days) over the profile window;
   * `recent_accesses`, `recent_days` over the recent window; `metric_accesses`,
   * `metric_auth_steps`, `metric_days` over the metrics window.
   */
  readonly apps: string
  /** Per user: distinct active `days`, `recent_days` and `metric_days` over the same windows. */
  readonly users: string
}

/** How many nights' sums are kept (the latest built): tonight's, and the ones a resumed or re-run night may still read. */
const KEEP = 3

const nameOf = (w: NightWindows) =>
  `window_${w.date.replaceAll("-", "")}_${w.profileWindowDays}_${w.recentWindowDays}_${w.metricsWindowDays}`
const tablesOf = (name: string): WindowTables => ({ apps: `${name}_apps`, users: `${name}_users` })

/**
 * Per window (profile, recent, metrics), a day's weight going from the sums as of `from` to those
 * as of `to`: +1 where it enters the window, -1 where it leaves; only days with a nonzero weight.
 */
export const dayWeights = (from: NightWindows, to: NightWindows) => {
  const lengths = [to.profileWindowDays, to.recentWindowDays, to.metricsWindowDays] as const
  const inside = (day: number, end: number, length: number) => (day >= end - length && day < end ? 1 : 0)
  const [a, b] = [dayNumber(from.date), dayNumber(to.date)]
  const days: Array<IsoDate> = []
  const weights: [Array<number>, Array<number>, Array<number>] = [[], [], []]
  for (let day = Math.min(a, b) - to.profileWindowDays; day < Math.max(a, b); day++) {
    const w = lengths.map((length) => inside(day, b, length) - inside(day, a, length))
    if (w.every((x) => x === 0)) continue
    days.push(addDays(to.date, day - b))
    w.forEach((x, i) => weights[i]!.push(x))
  }
  return { days, profile: weights[0], recent: weights[1], metrics: weights[2] }
}

/**
 * Each user's sums over the windows a night reads, as of the night's date: what the candidates,
 * the neighbour index and the metrics read instead of 90 days of the rollup. Built once per date
 * and window settings, from the previous night's sums plus the days that entered the windows
 * minus those that left (a few days of the rollup), or from the whole profile window of the
 * rollup when there is no recent base. A settle that changes a day inside a night's windows drops
 * that night's sums (see `EventStore.settle`), so what is kept always matches the rollup; tables
 * once built do not change, except that a forgotten person's rows are deleted. The apps' sums are
 * written in key order, so a range of users is a range of the table's pages (the neighbour
 * index reads them page by page, a profile is one or two pages).
 */
export class WindowSums extends Effect.Service<WindowSums>()("workcat/WindowSums", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const store = yield* EventStore
    const source = yield* WindowSource

    // The aggregates are hash tables of one row per user and app: let them stay in memory.
    const roomy = sql`SET LOCAL work_mem = '256MB'`

    /** From the rollup: one pass over the profile window (in parallel workers where the server has them). */
    const fromRollup = (w: NightWindows, t: WindowTables) => {
      const start = addDays(w.date, -w.profileWindowDays)
      const recent = addDays(w.date, -w.recentWindowDays)
      const metrics = addDays(w.date, -w.metricsWindowDays)
      return Effect.all([
        // The planner overestimates the groups of (user, app) and would sort 90 days of rows; the hash fits (and spills if not).
        // Planned apart (materialized), the aggregate stays a hash; only its result is sorted.
        sql`SET LOCAL enable_sort = off`,
        sql`
          CREATE UNLOGGED TABLE ${sql(t.apps)} AS
          WITH sums AS MATERIALIZED (
          SELECT user_id, app, sum(accesses)::bigint AS accesses, sum(auth_steps)::bigint AS auth_steps, count(*)::int AS days,
                 coalesce(sum(accesses) FILTER (WHERE day >= ${recent}), 0)::bigint AS recent_accesses,
                 (count(*) FILTER (WHERE day >= ${recent}))::int AS recent_days,
                 coalesce(sum(accesses) FILTER (WHERE day >= ${metrics}), 0)::bigint AS metric_accesses,
                 coalesce(sum(auth_steps) FILTER (WHERE day >= ${metrics}), 0)::bigint AS metric_auth_steps,
                 (count(*) FILTER (WHERE day >= ${metrics}))::int AS metric_days
          FROM user_app_daily WHERE day >= ${start} AND day < ${w.date}
          GROUP BY user_id, app
          )
          SELECT * FROM sums ORDER BY user_id, app`,
        sql`SET LOCAL enable_sort = on`,
        sql`
          CREATE UNLOGGED TABLE ${sql(t.users)} AS
          SELECT user_id, count(DISTINCT day)::int AS days,
                 (count(DISTINCT day) FILTER (WHERE day >= ${recent}))::int AS recent_days,
                 (count(DISTINCT day) FILTER (WHERE day >= ${metrics}))::int AS metric_days
          FROM user_app_daily WHERE day >= ${start} AND day < ${w.date}
          GROUP BY user_id`
      ])
    }

    /** From sums computed elsewhere (a BigQuery rollup), written into the tenant's schema in pages. */
    const fromSource = (w: NightWindows, t: WindowTables, sums: NonNullable<WindowSource["Type"]["sums"]>) =>
      Effect.gen(function* () {
        const { apps, users } = yield* sums(w)
        yield* sql`
          CREATE UNLOGGED TABLE ${sql(t.apps)} (
            user_id text NOT NULL, app text NOT NULL, accesses bigint NOT NULL, auth_steps bigint NOT NULL, days int NOT NULL,
            recent_accesses bigint NOT NULL, recent_days int NOT NULL, metric_accesses bigint NOT NULL, metric_auth_steps bigint NOT NULL, metric_days int NOT NULL)`
        yield* sql`CREATE UNLOGGED TABLE ${sql(t.users)} (user_id text NOT NULL, days int NOT NULL, recent_days int NOT NULL, metric_days int NOT NULL)`
        const sorted = [...apps].sort((a, b) => (a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : a.app < b.app ? -1 : a.app > b.app ? 1 : 0))
        for (const page of Arr.chunksOf(sorted, 10_000)) {
          yield* sql`INSERT INTO ${sql(t.apps)} SELECT * FROM json_populate_recordset(NULL::${sql(t.apps)}, ${JSON.stringify(page)}::json)`
        }
        for (const page of Arr.chunksOf(users, 10_000)) {
          yield* sql`INSERT INTO ${sql(t.users)} SELECT * FROM json_populate_recordset(NULL::${sql(t.users)}, ${JSON.stringify(page)}::json)`
        }
      })

    /** From the sums as of another date: those plus (or minus) the rollup's days that entered (or left) the windows. */
    const fromBase = (base: WindowTables, weights: ReturnType<typeof dayWeights>, t: WindowTables) => {
      const changes = sql`unnest(${weights.days}::date[], ${weights.profile}::int[], ${weights.recent}::int[], ${weights.metrics}::int[]) AS c(day, p, r, m)`
      return Effect.all([
        sql`
          CREATE UNLOGGED TABLE ${sql(t.apps)} AS
          WITH d AS (
            SELECT u.user_id, u.app, sum(c.p * u.accesses) AS accesses, sum(c.p * u.auth_steps) AS auth_steps, sum(c.p) AS days,
                   sum(c.r * u.accesses) AS recent_accesses, sum(c.r) AS recent_days,
                   sum(c.m * u.accesses) AS metric_accesses, sum(c.m * u.auth_steps) AS metric_auth_steps, sum(c.m) AS metric_days
            FROM user_app_daily u JOIN ${changes} USING (day)
            WHERE u.day = ANY(${weights.days}::date[])
            GROUP BY u.user_id, u.app
          )
          SELECT user_id, app,
                 (coalesce(o.accesses, 0) + coalesce(d.accesses, 0))::bigint AS accesses,
                 (coalesce(o.auth_steps, 0) + coalesce(d.auth_steps, 0))::bigint AS auth_steps,
                 (coalesce(o.days, 0) + coalesce(d.days, 0))::int AS days,
                 (coalesce(o.recent_accesses, 0) + coalesce(d.recent_accesses, 0))::bigint AS recent_accesses,
                 (coalesce(o.recent_days, 0) + coalesce(d.recent_days, 0))::int AS recent_days,
                 (coalesce(o.metric_accesses, 0) + coalesce(d.metric_accesses, 0))::bigint AS metric_accesses,
                 (coalesce(o.metric_auth_steps, 0) + coalesce(d.metric_auth_steps, 0))::bigint AS metric_auth_steps,
                 (coalesce(o.metric_days, 0) + coalesce(d.metric_days, 0))::int AS metric_days
          FROM ${sql(base.apps)} o FULL JOIN d USING (user_id, app)
          WHERE coalesce(o.days, 0) + coalesce(d.days, 0) > 0
          ORDER BY user_id, app`,
        sql`
          CREATE UNLOGGED TABLE ${sql(t.users)} AS
          WITH d AS (
            SELECT x.user_id, sum(c.p) AS days, sum(c.r) AS recent_days, sum(c.m) AS metric_days
            FROM (SELECT DISTINCT user_id, day FROM user_app_daily WHERE day = ANY(${weights.days}::date[])) x JOIN ${changes} USING (day)
            GROUP BY x.user_id
          )
          SELECT user_id,
                 (coalesce(o.days, 0) + coalesce(d.days, 0))::int AS days,
                 (coalesce(o.recent_days, 0) + coalesce(d.recent_days, 0))::int AS recent_days,
                 (coalesce(o.metric_days, 0) + coalesce(d.metric_days, 0))::int AS metric_days
          FROM ${sql(base.users)} o FULL JOIN d USING (user_id)
          WHERE coalesce(o.days, 0) + coalesce(d.days, 0) > 0`
      ])
    }

    const build = (w: NightWindows, name: string) =>
      Effect.gen(function* () {
        yield* store.lockWindowSums
        const done = yield* sql`SELECT 1 FROM window_sums WHERE name = ${name}`
        if (done.length > 0) return "existing" as const
        yield* roomy
        const t = tablesOf(name)
        // A crash empties the catalog and leaves these tables behind, empty: they are rebuilt.
        yield* sql`DROP TABLE IF EXISTS ${sql(t.apps)}, ${sql(t.users)}`
        // The nearest night with the same windows, if moving from it touches fewer days than a rebuild reads.
        const [base] = yield* sql<{ name: string; date: IsoDate }>`
          SELECT name, as_of::text AS date FROM window_sums
          WHERE profile_days = ${w.profileWindowDays} AND recent_days = ${w.recentWindowDays} AND metrics_days = ${w.metricsWindowDays}
          ORDER BY abs(as_of - ${w.date}::date), built_at DESC LIMIT 1`
        const weights = base === undefined ? null : dayWeights({ ...w, date: base.date }, w)
        const from = source.sums === null && base !== undefined && weights !== null && weights.days.length * 2 < w.profileWindowDays ? base.date : "rollup"
        yield* Effect.annotateCurrentSpan("from", from)
        if (source.sums !== null) yield* fromSource(w, t, source.sums)
        else if (from === "rollup") yield* fromRollup(w, t)
        else yield* fromBase(tablesOf(base!.name), weights!, t)
        yield* sql`ALTER TABLE ${sql(t.apps)} ADD PRIMARY KEY (user_id, app)`
        yield* sql`ALTER TABLE ${sql(t.users)} ADD PRIMARY KEY (user_id)`
        // Fresh tables have no statistics: without them the readers' joins are planned blind.
        yield* sql`ANALYZE ${sql(t.apps)}, ${sql(t.users)}`
        yield* sql`
          INSERT INTO window_sums (name, as_of, profile_days, recent_days, metrics_days)
          VALUES (${name}, ${w.date}, ${w.profileWindowDays}, ${w.recentWindowDays}, ${w.metricsWindowDays})`
        yield* store.dropWindowSums(sql`name NOT IN (SELECT name FROM window_sums ORDER BY built_at DESC LIMIT ${KEEP})`)
        return from
      }).pipe(sql.withTransaction, Effect.withSpan("WindowSums.build", { attributes: { date: w.date } }))

    /**
     * The sums of a night, built first if missing (the rollup settled first), and what they were
     * built from: the date of the sums they moved from, the whole "rollup", or "existing" ones.
     */
    const ensure = (w: NightWindows) =>
      Effect.gen(function* () {
        yield* source.settle
        const name = nameOf(w)
        const [found] = yield* sql`SELECT 1 AS found FROM window_sums WHERE name = ${name}`
        const from = found === undefined ? yield* build(w, name) : ("existing" as const)
        return { tables: tablesOf(name), from }
      })

    /**
     * Runs `read` on a night's sums. A settle or a forget may drop them between the lookup and
     * the read (a table that does not exist): it is looked up, or built, again.
     */
    const use = <A, E, R>(w: NightWindows, read: (t: WindowTables) => Effect.Effect<A, E | SqlError, R>) =>
      Effect.flatMap(ensure(w), ({ tables }) => read(tables)).pipe(
        Effect.retry({ schedule: Schedule.recurs(3), while: (e) => (e as { cause?: { code?: string } }).cause?.code === "42P01" })
      )

    /** Right to forget: the person's rows leave every night's sums (the caller holds the key-version lock). */
    const forget = (userId: UserId) =>
      Effect.gen(function* () {
        yield* store.lockWindowSums
        const names = yield* sql<{ name: string }>`SELECT name FROM window_sums`
        for (const { name } of names) {
          const t = tablesOf(name)
          yield* sql`DELETE FROM ${sql(t.apps)} WHERE user_id = ${userId}`
          yield* sql`DELETE FROM ${sql(t.users)} WHERE user_id = ${userId}`
        }
      })

    /** Key rotation: the sums hold pseudonyms under the old key; they go, and are rebuilt under the new one. */
    const dropAll = Effect.zipRight(store.lockWindowSums, store.dropWindowSums(sql`true`))

    return { ensure, use, forget, dropAll } as const
  }),
  dependencies: [EventStore.Default]
}) {}
