import * as SqlClient from "@effect/sql/SqlClient"
import {
  type AppKey,
  type AppProfile,
  type AppUsage,
  type CategoryId,
  dayNumber,
  type GroupTotals,
  MINUTES_PER_APP_SWITCH,
  MINUTES_PER_EXTRA_AUTH_STEP,
  type UserId
} from "@workcat/core"
import { Array as Arr, Chunk, Effect, Option, Stream } from "effect"
import { type Candidate, type NightQuery, type NightWindows, type UserApps, windowEnding } from "../EventWarehouse.js"
import { WindowSums } from "./WindowSums.js"

/** Users per page of `appActivity`. */
const APP_ACTIVITY_PAGE = 1_000

/**
 * What a night reads of the whole tenant, computed where the rows are: tonight's candidates
 * (drift included), their profiles, the app activity the neighbour index is built from, and the
 * metrics' group totals. Each reads the night's window sums (`WindowSums`: one row per user and app, not 90 days
 * of the rollup); what reaches the process is the few candidates, the profiles asked for, one
 * row per user (their apps), or one row per group. The tenant's labels (`work_categories`) and
 * HR events are read here too: they live in the same schema.
 */
export class NightQueries extends Effect.Service<NightQueries>()("workcat/NightQueries", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const sums = yield* WindowSums

    // The aggregates are hash tables of one row per user and app: let them stay in memory.
    const roomy = sql`SET LOCAL work_mem = '256MB'`

    /**
     * The drift is `driftScore` of `mixVector`s (see `@workcat/core`) in SQL: each app's accesses
     * weighted by its IDF over the profile window, normalized per user; a category's centroid is
     * the normalized sum of its members' baseline vectors. The periodic slot is `periodicSlot`'s:
     * the pseudonym's first 8 hex digits modulo the period.
     */
    const candidates = Effect.fn("NightQueries.candidates")(function* (night: NightQuery) {
      const slot = dayNumber(night.date) % night.periodicDays
      const rows = yield* sums.use(night, (t) =>
        Effect.zipRight(
          roomy,
          sql<{ userId: UserId; drift: number | null; active: boolean }>`
            WITH act AS (SELECT user_id, recent_days FROM ${sql(t.users)}),
            idf AS (
              SELECT app, ln((1 + (SELECT count(*) FROM act))::float8 / (1 + count(*))) + 1 AS w FROM ${sql(t.apps)} GROUP BY app
            ),
            v AS MATERIALIZED (
              SELECT a.user_id, l.category, a.app, a.recent_accesses::float8 AS accesses,
                     a.recent_accesses * idf.w AS r, (a.accesses - a.recent_accesses) * idf.w AS b
              FROM ${sql(t.apps)} a JOIN idf USING (app) JOIN work_categories l USING (user_id)
            ),
            norm AS (
              SELECT user_id, sqrt(sum(r * r)) AS rn, sqrt(sum(b * b)) AS bn, sum(accesses) AS accesses FROM v GROUP BY user_id
            ),
            u AS MATERIALIZED (
              SELECT v.user_id, v.category, v.app, v.r / nullif(n.rn, 0) AS y, v.b / n.bn AS x, n.rn, n.accesses
              FROM v JOIN norm n USING (user_id) WHERE n.bn > 0
            ),
            centroid AS (
              SELECT category, app, s / sqrt(sum(s * s) OVER (PARTITION BY category)) AS c
              FROM (SELECT category, app, sum(x) AS s FROM u GROUP BY category, app) sums
            ),
            drift AS (
              SELECT u.user_id,
                     greatest(1 - coalesce(sum(u.x * u.y), 0), coalesce(sum(u.x * c.c), 0) - coalesce(sum(u.y * c.c), 0)) AS drift
              FROM u JOIN act d USING (user_id) LEFT JOIN centroid c ON c.category = u.category AND c.app = u.app
              WHERE u.rn > 0 AND u.accesses >= ${night.anomalyMinAccesses} AND d.recent_days >= ${night.anomalyMinDays}
              GROUP BY u.user_id
            ),
            labels AS (SELECT user_id, (categorized_at AT TIME ZONE 'UTC')::date AS day FROM work_categories),
            pool AS (
              SELECT user_id, NULL::float8 AS drift FROM act WHERE user_id NOT IN (SELECT user_id FROM labels)
              UNION ALL
              SELECT user_id, drift FROM drift WHERE drift > ${night.anomalyThreshold}
              UNION ALL
              SELECT user_id, NULL FROM labels
              WHERE day < ${night.date}::date - ${night.periodicDays}::int
                 OR CASE WHEN user_id ~ '^u_[0-9a-fA-F]{8}'
                         THEN ('x' || substr(user_id, 3, 8))::bit(32)::bigint % ${night.periodicDays} = ${slot}
                         ELSE true END
              UNION ALL
              SELECT h.user_id, NULL FROM hr_events h LEFT JOIN labels l USING (user_id)
              WHERE h.effective_date <= ${night.date}
                AND (l.user_id IS NULL
                     OR (h.type = 'hire' AND h.effective_date > ${night.date}::date - ${night.newHireDays}::int)
                     OR (h.type <> 'termination' AND h.effective_date > l.day))
            )
            SELECT p.user_id AS "userId", max(p.drift) AS drift, bool_or(act.user_id IS NOT NULL) AS active
            FROM pool p LEFT JOIN act USING (user_id)
            GROUP BY p.user_id
            ORDER BY p.user_id`
        ).pipe(sql.withTransaction)
      )
      return rows as ReadonlyArray<Candidate>
    }, Effect.orDie)

    /** Profiles over the night's profile window, from its sums (by their keys: a few pages a user). */
    const profiles = Effect.fn("NightQueries.profiles")(function* (night: NightWindows, users: ReadonlyArray<UserId>) {
      const window = windowEnding(night.date, night.profileWindowDays)
      const found = new Map<UserId, AppProfile>()
      for (const chunk of Arr.chunksOf(users, 1_000)) {
        const [apps, days] = yield* sums.use(night, (t) =>
          Effect.all([
            sql<{ userId: UserId; app: AppKey; accesses: number; authSteps: number; activeDays: number }>`
              SELECT user_id AS "userId", app, accesses::int, auth_steps::int AS "authSteps", days AS "activeDays"
              FROM ${sql(t.apps)} WHERE user_id = ANY(${chunk}::text[])`,
            sql<{ userId: UserId; activeDays: number }>`
              SELECT user_id AS "userId", days AS "activeDays" FROM ${sql(t.users)} WHERE user_id = ANY(${chunk}::text[])`
          ])
        )
        const usage = Arr.groupBy(apps, (r) => r.userId)
        for (const d of days) {
          const list: Array<AppUsage> = (usage[d.userId] ?? [])
            .map((r) => ({ app: r.app, accesses: r.accesses, activeDays: r.activeDays, authSteps: r.authSteps }))
            .sort((a, b) => b.accesses - a.accesses || a.app.localeCompare(b.app))
          found.set(d.userId, {
            userId: d.userId,
            windowStart: window.start,
            windowEnd: window.end,
            activeDays: d.activeDays,
            appDays: list.reduce((acc, a) => acc + a.activeDays, 0),
            accesses: list.reduce((acc, a) => acc + a.accesses, 0),
            authSteps: list.reduce((acc, a) => acc + a.authSteps, 0),
            apps: list
          })
        }
      }
      return found as ReadonlyMap<UserId, AppProfile>
    }, Effect.orDie)

    /**
     * Pages of users in id order, one row each with their apps in one string: a few dozen queries
     * for a tenant rather than a cursor's round trip per 128 rows of one row per user and app.
     * A page is a key range of the apps' sums (stored in key order: a range of its pages), up to
     * the last of the next users; every user in the users' sums has rows in the apps' sums (both
     * count the same days), so a page is never empty before the last.
     */
    const appActivity = (night: NightWindows): Stream.Stream<UserApps> =>
      Stream.paginateChunkEffect("" as string, (after) =>
        sums.use(night, (t) =>
          // "app:days,app:days": app keys are [a-z0-9_] (`AppKey`); one string a user, not two arrays of values.
          sql<{ userId: UserId; category: CategoryId | null; apps: string }>`
            SELECT a.user_id AS "userId", (SELECT w.category FROM work_categories w WHERE w.user_id = a.user_id) AS category,
                   string_agg(a.app || ':' || a.days, ',' ORDER BY a.app) AS apps
            FROM ${sql(t.apps)} a
            WHERE a.user_id > ${after}
              AND a.user_id <= (SELECT max(user_id) FROM (SELECT user_id FROM ${sql(t.users)} WHERE user_id > ${after} ORDER BY user_id LIMIT ${APP_ACTIVITY_PAGE}) p)
            GROUP BY a.user_id
            ORDER BY a.user_id`
        ).pipe(
          Effect.map((rows) => [
            Chunk.fromIterable(
              rows.map((r): UserApps => ({
                userId: r.userId,
                category: r.category,
                apps: r.apps.split(",").map((pair) => {
                  const colon = pair.indexOf(":")
                  return { app: pair.slice(0, colon) as AppKey, activeDays: Number(pair.slice(colon + 1)) }
                })
              }))
            ),
            rows.length === 0 ? Option.none() : Option.some(rows.at(-1)!.userId as string)
          ] as const)
        )
      ).pipe(Stream.orDie, Stream.withSpan("NightQueries.appActivity"))

    /**
     * `userWaste` per user over the metrics window, then summed per group (`GROUPING SETS`: by
     * department, team, category and department × category), and the same per app. HR as
     * of the night's date is `foldHrEvents`' in SQL: the last department and team a hire or role change gave, in
     * effective-date order (ties by event id, in the database's collation).
     */
    const groupTotals = Effect.fn("NightQueries.groupTotals")(function* (night: NightWindows) {
      return yield* sums.use(night, (t) => sql<GroupTotals>`
        WITH per_user AS (
          SELECT a.user_id, sum(a.metric_accesses)::float8 AS accesses, sum(a.metric_auth_steps)::float8 AS auth_steps,
                 max(u.metric_days)::float8 AS active_days, sum(a.metric_days)::float8 AS app_days
          FROM ${sql(t.apps)} a JOIN ${sql(t.users)} u USING (user_id)
          WHERE u.metric_days > 0 AND a.metric_days > 0
          GROUP BY a.user_id
        ),
        hr AS (
          SELECT user_id,
                 (array_agg(department ORDER BY effective_date DESC, event_id DESC)
                    FILTER (WHERE type <> 'termination' AND department IS NOT NULL))[1] AS department,
                 (array_agg(team ORDER BY effective_date DESC, event_id DESC)
                    FILTER (WHERE type <> 'termination' AND team IS NOT NULL))[1] AS team
          FROM hr_events WHERE effective_date <= ${night.date} GROUP BY user_id
        ),
        waste AS (
          SELECT p.*, coalesce(hr.department, 'Unknown') AS department, coalesce(hr.team, 'Unknown') AS team,
                 coalesce(c.category, 'uncategorized') AS category,
                 CASE WHEN p.accesses = 0 THEN 0
                      ELSE greatest(0, p.auth_steps / p.accesses - 1) * ${MINUTES_PER_EXTRA_AUTH_STEP}::float8 * p.accesses / 60 END AS auth,
                 CASE WHEN p.active_days = 0 THEN 0
                      ELSE (p.app_days / p.active_days) * ${MINUTES_PER_APP_SWITCH}::float8 / 60 * p.active_days END AS ctx
          FROM per_user p LEFT JOIN hr USING (user_id) LEFT JOIN work_categories c USING (user_id)
        )
        SELECT CASE WHEN grouping(department) = 0 AND grouping(category) = 0 THEN 'department_category'
                    WHEN grouping(department) = 0 THEN 'department' WHEN grouping(team) = 0 THEN 'team' ELSE 'category' END AS "groupBy",
               CASE WHEN grouping(department) = 0 AND grouping(category) = 0 THEN to_json(ARRAY[department, category])::text
                    ELSE coalesce(department, team, category) END AS "group", count(*)::int AS employees,
               sum(active_days)::float8 AS "activeDays", sum(app_days)::float8 AS "appDays", sum(accesses)::float8 AS accesses,
               sum(auth_steps)::float8 AS "authSteps", sum(auth)::float8 AS "authWasteHours", sum(ctx)::float8 AS "contextSwitchWasteHours"
        FROM waste GROUP BY GROUPING SETS ((department), (team), (category), (department, category))
        UNION ALL
        -- Per app: its users' extra sign-in steps on it, and a refocus for each day it was used;
        -- a day of an app counts as one active day of it (so an app's distinct apps a day is 1).
        SELECT 'app', a.app, count(*)::int, sum(a.metric_days)::float8, sum(a.metric_days)::float8, sum(a.metric_accesses)::float8,
               sum(a.metric_auth_steps)::float8,
               sum(greatest(0, a.metric_auth_steps - a.metric_accesses))::float8 * ${MINUTES_PER_EXTRA_AUTH_STEP}::float8 / 60,
               sum(a.metric_days)::float8 * ${MINUTES_PER_APP_SWITCH}::float8 / 60
        FROM ${sql(t.apps)} a JOIN ${sql(t.users)} u USING (user_id)
        WHERE u.metric_days > 0 AND a.metric_days > 0
        GROUP BY a.app`)
    }, Effect.orDie)

    return { candidates, profiles, appActivity, groupTotals } as const
  }),
  dependencies: [WindowSums.Default]
}) {}
