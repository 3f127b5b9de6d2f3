import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { addDays, type IsoDate, type UserId } from "@workcat/core"
import { defaultNightly } from "@workcat/tenancy"
import { Effect, Layer } from "effect"
import { PipelineLive } from "../src/app/Layers.js"
import { EventWarehouse, type NightWindows } from "../src/warehouse/EventWarehouse.js"
import { dayWeights, type WindowTables, WindowSums } from "../src/warehouse/postgres/WindowSums.js"
import { accessesBefore, range } from "./support/Accesses.js"
import { freshTenant, provision, TestRuntime } from "./support/TestLayers.js"

const date = "2026-11-23" as IsoDate
const tonight: NightWindows = { ...defaultNightly, date }
const yesterday: NightWindows = { ...tonight, date: addDays(date, -1) }
const user = (hex: string) => `u_${hex.padEnd(32, "0")}` as UserId
const [steady, leaving, arriving, sparse] = ["000000b1", "000000b2", "000000b3", "000000b4"].map(user) as [UserId, UserId, UserId, UserId]

const uses = accessesBefore(date, "w")

/**
 * A tenant whose windows move tonight at every edge: a user active every day, one whose only day
 * leaves the profile window tonight (day 91 before tonight), one whose only day enters it (day 1),
 * and one with a day at each edge of the recent and metrics windows.
 */
const history = [
  ...uses(steady, "github", range(1, 100), 3, 2),
  ...uses(steady, "jira", range(1, 100).filter((d) => d % 3 === 0), 1, 1),
  ...uses(leaving, "salesforce", [91], 4),
  ...uses(arriving, "figma", [1], 2),
  ...uses(sparse, "slack", [14, 15, 28, 29, 90], 1, 3),
  ...uses(sparse, "github", [15, 29], 2)
]

const layer = (tenant: ReturnType<typeof freshTenant>) =>
  <E>(self: Effect.Effect<void, E, EventWarehouse | WindowSums | SqlClient.SqlClient>) =>
    self.pipe(Effect.provide(PipelineLive(tenant)), Effect.provide(Layer.provideMerge(provision(tenant), TestRuntime)))

/** Rows with their counts as numbers (PostgreSQL's bigints arrive as strings). */
const numeric = (rows: ReadonlyArray<Record<string, unknown>>) =>
  rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, k === "user_id" || k === "app" ? v : Number(v)])))

/** A night's sums as plain rows, in key order. */
const contents = (w: NightWindows) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const sums = yield* WindowSums
    return yield* sums.use(w, (t: WindowTables) =>
      Effect.all({
        apps: sql`SELECT * FROM ${sql(t.apps)} ORDER BY user_id, app`.pipe(Effect.map(numeric)),
        users: sql`SELECT * FROM ${sql(t.users)} ORDER BY user_id`.pipe(Effect.map(numeric))
      })
    ).pipe(Effect.orDie)
  })

const catalog = Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ name: string }>`SELECT name FROM window_sums ORDER BY as_of`).pipe(
  Effect.orDie,
  Effect.map((rows) => rows.map((r) => r.name))
)

describe("window sums", () => {
  it("weigh the days that enter and leave each window when a night moves on by one day", () => {
    expect(dayWeights(yesterday, tonight)).toEqual({
      days: [addDays(date, -91), addDays(date, -29), addDays(date, -15), addDays(date, -1)],
      profile: [-1, 0, 0, 1],
      recent: [0, 0, -1, 1],
      metrics: [0, -1, 0, 1]
    })
  })

  it.effect("moved on from yesterday's hold what a build from the whole rollup holds", () => {
    const tenant = freshTenant("ws")
    return Effect.gen(function* () {
      const w = yield* EventWarehouse
      const sums = yield* WindowSums
      yield* w.append(history)
      expect((yield* sums.ensure(yesterday)).from).toBe("rollup")
      expect((yield* sums.ensure(tonight)).from).toBe(yesterday.date)
      const moved = yield* contents(tonight)
      yield* sums.dropAll
      expect((yield* sums.ensure(tonight)).from).toBe("rollup")
      expect(yield* contents(tonight)).toEqual(moved)
      // What moved: the leaving user is gone, the arriving one is in, the sparse one's edges are counted once.
      expect(moved.users.map((u) => u.user_id)).toEqual([steady, arriving, sparse])
      expect(moved.apps.filter((a) => a.user_id === sparse)).toEqual([
        { user_id: sparse, app: "github", accesses: 4, auth_steps: 4, days: 2, recent_accesses: 0, recent_days: 0, metric_accesses: 2, metric_auth_steps: 2, metric_days: 1 },
        { user_id: sparse, app: "slack", accesses: 5, auth_steps: 15, days: 5, recent_accesses: 1, recent_days: 1, metric_accesses: 3, metric_auth_steps: 9, metric_days: 3 }
      ])
      expect(moved.users.find((u) => u.user_id === sparse)).toEqual({ user_id: sparse, days: 5, recent_days: 1, metric_days: 3 })
    }).pipe(layer(tenant))
  })

  it.effect("are dropped when a late event changes a day inside their windows, and count it when read again", () => {
    const tenant = freshTenant("ws")
    return Effect.gen(function* () {
      const w = yield* EventWarehouse
      yield* w.append(history)
      const before = yield* contents(tonight)
      // Today's events are outside tonight's windows: the sums stay.
      yield* w.append(uses(steady, "github", [0], 5))
      yield* w.settle
      expect(yield* catalog).toHaveLength(1)
      yield* w.append(uses(steady, "github", [3], 5))
      yield* w.settle
      expect(yield* catalog).toEqual([])
      const github = (c: typeof before) => Number(c.apps.find((a) => a.user_id === steady && a.app === "github")?.accesses)
      expect(github(yield* contents(tonight)) - github(before)).toBe(5)
    }).pipe(layer(tenant))
  })

  it.effect("forget a person in every night's sums, and go with a key rotation", () => {
    const tenant = freshTenant("ws")
    return Effect.gen(function* () {
      const w = yield* EventWarehouse
      yield* w.append(history)
      yield* contents(yesterday)
      yield* contents(tonight)
      yield* w.forget(sparse)
      for (const night of [yesterday, tonight]) {
        const { apps, users } = yield* contents(night)
        expect([...apps, ...users].filter((r) => r.user_id === sparse)).toEqual([])
        expect(users.length).toBeGreaterThan(0)
      }
      expect(yield* catalog).toHaveLength(2)
      yield* w.rekey((old) => `${old}x`)
      expect(yield* catalog).toEqual([])
    }).pipe(layer(tenant))
  })
})
