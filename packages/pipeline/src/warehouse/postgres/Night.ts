import * as SqlClient from "@effect/sql/SqlClient"
import {
  addDays,
  type AppKey,
  type CategoryId,
  dayNumber,
  type GroupTotals,
  MINUTES_PER_APP_SWITCH,
  MINUTES_PER_EXTRA_AUTH_STEP,
  type UserId
} from "@workcat/core"
import { Chunk, Effect, Stream } from "effect"
import type { Candidate, NightQuery, ProfileWindow, UserApps } from "../EventWarehouse.js"
import { EventStore } from "./EventStore.js"

/**
 * What a night reads of the whole tenant, computed where the rows are: tonight's candidates
 * (drift included), the app activity the neighbour index is built from, and the metrics' group
 * totals. Each is a pass over the window in PostgreSQL; what reaches the process is the few
 * candidates, one row per user and app, or one row per group. The tenant's labels
 * (`work_categories`) and HR events are read here too: they live in the same schema.
 */
export class NightQueries extends Effect.Service<NightQueries>()("workcat/NightQueries", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const store = yield* EventStore

    // The aggregates of a window are hash tables of one row per user and app: let them stay in memory.
    const roomy = sql`SET LOCAL work_mem = '256MB'`

    /**
     * The drift is `driftScore` of `mixVector`s (see `@workcat/core`) in SQL: each app's accesses
     * weighted by its IDF over the profile window, normalized per user; a category's centroid is
     * the normalized sum of its members' baseline vectors. The periodic slot is `periodicSlot`'s:
     * the pseudonym's first 8 hex digits modulo the period.
     */
    const candidates = Effect.fn("NightQueries.candidates")(function* (night: NightQuery) {
      yield* store.settle
      const start = addDays(night.date, -night.profileWindowDays)
      const recentStart = addDays(night.date, -night.recentWindowDays)
      const slot = dayNumber(night.date) % night.periodicDays
      const rows = yield* Effect.zipRight(
        roomy,
        sql<{ userId: UserId; drift: number | null; active: boolean }>`
          WITH a AS MATERIALIZED (
            SELECT user_id, app,
                   (sum(accesses) FILTER (WHERE day >= ${recentStart}))::float8 AS recent,
                   (sum(accesses) FILTER (WHERE day < ${recentStart}))::float8 AS base
            FROM user_app_daily WHERE day >= ${start} AND day < ${night.date}
            GROUP BY user_id, app
          ),
          act AS MATERIALIZED (SELECT DISTINCT user_id FROM a),
          idf AS (
            SELECT app, ln((1 + (SELECT count(*) FROM act))::float8 / (1 + count(*))) + 1 AS w FROM a GROUP BY app
          ),
          v AS MATERIALIZED (
            SELECT a.user_id, l.category, a.app, a.recent AS accesses, a.recent * idf.w AS r, a.base * idf.w AS b
            FROM a JOIN idf USING (app) JOIN work_categories l USING (user_id)
          ),
          norm AS (
            SELECT user_id, sqrt(sum(r * r)) AS rn, sqrt(sum(b * b)) AS bn, sum(accesses) AS accesses FROM v GROUP BY user_id
          ),
          u AS MATERIALIZED (
            SELECT v.user_id, v.category, v.app, v.r / n.rn AS y, v.b / n.bn AS x, n.rn, n.accesses
            FROM v JOIN norm n USING (user_id) WHERE n.bn > 0
          ),
          centroid AS (
            SELECT category, app, s / sqrt(sum(s * s) OVER (PARTITION BY category)) AS c
            FROM (SELECT category, app, sum(x) AS s FROM u WHERE x IS NOT NULL GROUP BY category, app) sums
          ),
          recent_days AS (
            SELECT user_id, count(DISTINCT day) AS days FROM user_app_daily
            WHERE day >= ${recentStart} AND day < ${night.date} GROUP BY user_id
          ),
          drift AS (
            SELECT u.user_id,
                   greatest(1 - coalesce(sum(u.x * u.y), 0), coalesce(sum(u.x * c.c), 0) - coalesce(sum(u.y * c.c), 0)) AS drift
            FROM u JOIN recent_days d USING (user_id) LEFT JOIN centroid c ON c.category = u.category AND c.app = u.app
            WHERE u.rn > 0 AND u.accesses >= ${night.anomalyMinAccesses} AND d.days >= ${night.anomalyMinDays}
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
      return rows as ReadonlyArray<Candidate>
    }, Effect.orDie)

    const appActivity = (window: ProfileWindow): Stream.Stream<UserApps> =>
      Stream.unwrap(
        Effect.as(store.settle, sql<{ userId: UserId; category: CategoryId | null; app: AppKey; activeDays: number }>`
          SELECT a.user_id AS "userId", w.category, a.app, a.days AS "activeDays"
          FROM (SELECT user_id, app, count(*)::int AS days FROM user_app_daily
                WHERE day >= ${window.start} AND day < ${window.end} GROUP BY user_id, app) a
          LEFT JOIN work_categories w USING (user_id)
          ORDER BY a.user_id, a.app`.stream)
      ).pipe(
        Stream.groupAdjacentBy((r) => r.userId),
        Stream.map(([userId, rows]) => ({
          userId,
          category: Chunk.unsafeHead(rows).category,
          apps: Chunk.toReadonlyArray(rows).map((r) => ({ app: r.app, activeDays: r.activeDays }))
        })),
        Stream.orDie,
        Stream.withSpan("NightQueries.appActivity")
      )

    /**
     * `userWaste` per user, then summed per group (`GROUPING SETS`). HR as of the window's end (the
     * metrics' date) is `foldHrEvents`' in SQL: the last department and team a hire or role change gave, in
     * effective-date order (ties by event id, in the database's collation).
     */
    const groupTotals = Effect.fn("NightQueries.groupTotals")(function* (window: ProfileWindow) {
      yield* store.settle
      return yield* sql<GroupTotals>`
        WITH per_user AS (
          SELECT user_id, sum(accesses)::float8 AS accesses, sum(auth_steps)::float8 AS auth_steps,
                 count(DISTINCT day)::float8 AS active_days, count(*)::float8 AS app_days
          FROM user_app_daily WHERE day >= ${window.start} AND day < ${window.end}
          GROUP BY user_id
        ),
        hr AS (
          SELECT user_id,
                 (array_agg(department ORDER BY effective_date DESC, event_id DESC)
                    FILTER (WHERE type <> 'termination' AND department IS NOT NULL))[1] AS department,
                 (array_agg(team ORDER BY effective_date DESC, event_id DESC)
                    FILTER (WHERE type <> 'termination' AND team IS NOT NULL))[1] AS team
          FROM hr_events WHERE effective_date <= ${window.end} GROUP BY user_id
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
        SELECT CASE WHEN grouping(department) = 0 THEN 'department' WHEN grouping(team) = 0 THEN 'team' ELSE 'category' END AS "groupBy",
               coalesce(department, team, category) AS "group", count(*)::int AS employees,
               sum(active_days)::float8 AS "activeDays", sum(app_days)::float8 AS "appDays", sum(accesses)::float8 AS accesses,
               sum(auth_steps)::float8 AS "authSteps", sum(auth)::float8 AS "authWasteHours", sum(ctx)::float8 AS "contextSwitchWasteHours"
        FROM waste GROUP BY GROUPING SETS ((department), (team), (category))`
    }, Effect.orDie)

    return { candidates, appActivity, groupTotals } as const
  }),
  dependencies: [EventStore.Default]
}) {}
