import * as SqlClient from "@effect/sql/SqlClient"
import type { AppKey, AppProfile, AppUsage, UserId } from "@workcat/core"
import { Array as Arr, Effect } from "effect"
import { EventStore } from "./EventStore.js"
import type { ProfileWindow } from "../EventWarehouse.js"

/**
 * Users' app profiles, built from the daily rollup (settled first) in two aggregate queries per
 * batch of users, through the rollup's primary key (user, day, app).
 */
export class Profiles extends Effect.Service<Profiles>()("workcat/Profiles", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const store = yield* EventStore

    const load = Effect.fn("Profiles.load")(function* (window: ProfileWindow, users: ReadonlyArray<UserId>) {
      yield* store.settle
      const profiles = new Map<UserId, AppProfile>()
      for (const chunk of Arr.chunksOf(users, 1_000)) yield* batch(window, chunk, profiles)
      return profiles as ReadonlyMap<UserId, AppProfile>
    }, Effect.orDie)

    const batch = (window: ProfileWindow, users: ReadonlyArray<UserId>, profiles: Map<UserId, AppProfile>) =>
      Effect.gen(function* () {
        const [apps, days] = yield* Effect.all(
          [
            sql<{ userId: UserId; app: AppKey; accesses: number; authSteps: number; activeDays: number }>`
              SELECT user_id AS "userId", app, sum(accesses)::int AS accesses, sum(auth_steps)::int AS "authSteps",
                     count(*)::int AS "activeDays"
              FROM user_app_daily WHERE user_id = ANY(${users}::text[]) AND day >= ${window.start} AND day < ${window.end}
              GROUP BY user_id, app`,
            sql<{ userId: UserId; activeDays: number; appDays: number }>`
              SELECT user_id AS "userId", count(DISTINCT day)::int AS "activeDays", count(*)::int AS "appDays"
              FROM user_app_daily WHERE user_id = ANY(${users}::text[]) AND day >= ${window.start} AND day < ${window.end}
              GROUP BY user_id`
          ]
          // sequential: callers may run inside a transaction, on one connection
        )
        const usage = Arr.groupBy(apps, (r) => r.userId)
        for (const d of days) {
          const list: Array<AppUsage> = (usage[d.userId] ?? [])
            .map((r) => ({ app: r.app, accesses: r.accesses, activeDays: r.activeDays, authSteps: r.authSteps }))
            .sort((a, b) => b.accesses - a.accesses || a.app.localeCompare(b.app))
          profiles.set(d.userId, {
            userId: d.userId,
            windowStart: window.start,
            windowEnd: window.end,
            activeDays: d.activeDays,
            appDays: d.appDays,
            accesses: list.reduce((acc, a) => acc + a.accesses, 0),
            authSteps: list.reduce((acc, a) => acc + a.authSteps, 0),
            apps: list
          })
        }
      })

    return { load } as const
  }),
  dependencies: [EventStore.Default]
}) {}
