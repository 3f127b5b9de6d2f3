import { describe, expect, it } from "@effect/vitest"
import type { AccessEvent, AppKey, IsoDate, UserId } from "@workcat/core"
import { Effect, Exit, type Layer } from "effect"
import { EventWarehouse, type NightWindows } from "../../src/warehouse/EventWarehouse.js"

export const event = (eventId: string, userId: string, app: string | null, at: string, authSteps = 1): AccessEvent => ({
  eventId,
  provider: "okta",
  eventType: "user.authentication.sso",
  occurredAt: new Date(at),
  userId: userId as UserId,
  app: app as AppKey | null,
  appName: app,
  outcome: "SUCCESS",
  authSteps,
  sessionId: "s_0123",
  country: "DE"
})

/** A night whose profile window is October 2026. */
const night: NightWindows = { date: "2026-11-01" as IsoDate, profileWindowDays: 31, recentWindowDays: 14, metricsWindowDays: 28 }
const users = ["u_1", "u_2", "u_3"] as ReadonlyArray<string> as ReadonlyArray<UserId>
const warehouse = EventWarehouse

/**
 * What every event warehouse adapter must do, whatever stores it. `layer` gives a fresh, empty
 * tenant's `EventWarehouse` for each test.
 */
export const warehouseContract = (name: string, layer: () => Layer.Layer<EventWarehouse, unknown>) =>
  describe(`event warehouse contract: ${name}`, () => {
    it.effect("appends idempotently: a re-delivered event adds nothing, and says which days it added to", () =>
      Effect.gen(function* () {
        const w = yield* warehouse
        const first = yield* w.append([event("a", "u_1", "github", "2026-10-02T09:00:00Z"), event("b", "u_1", "jira", "2026-10-04T23:59:59Z")])
        expect(first).toEqual({ inserted: 2, firstDay: "2026-10-02", lastDay: "2026-10-04" })
        const again = yield* w.append([event("b", "u_1", "jira", "2026-10-04T23:59:59Z"), event("c", "u_2", "github", "2026-10-03T00:00:00Z")])
        expect(again).toEqual({ inserted: 1, firstDay: "2026-10-03", lastDay: "2026-10-03" })
        expect(yield* w.append([])).toEqual({ inserted: 0, firstDay: null, lastDay: null })
      }).pipe(Effect.provide(layer())))

    it.effect("builds profiles from the settled rollup: accesses, auth steps and active days per app, application accesses only", () =>
      Effect.gen(function* () {
        const w = yield* warehouse
        yield* w.append([
          event("a", "u_1", "github", "2026-10-02T09:00:00Z", 2),
          event("b", "u_1", "github", "2026-10-02T10:00:00Z", 1),
          event("c", "u_1", "github", "2026-10-05T10:00:00Z", 1),
          event("d", "u_1", "jira", "2026-10-05T11:00:00Z", 3),
          event("e", "u_1", null, "2026-10-06T11:00:00Z", 1), // a sign-in to no app counts nowhere
          event("f", "u_2", "jira", "2026-10-31T23:59:59Z", 1),
          event("g", "u_2", "jira", "2026-11-01T00:00:00Z", 1) // the window's end is exclusive
        ])
        yield* w.settle
        const profiles = yield* w.profiles(night, users)
        expect([...profiles.keys()].sort()).toEqual(["u_1", "u_2"])
        const one = profiles.get("u_1" as UserId)!
        expect(one).toMatchObject({ userId: "u_1", windowStart: "2026-10-01", windowEnd: "2026-11-01", activeDays: 2, appDays: 3, accesses: 4, authSteps: 7 })
        expect(one.apps).toEqual([
          { app: "github", accesses: 3, activeDays: 2, authSteps: 4 },
          { app: "jira", accesses: 1, activeDays: 1, authSteps: 3 }
        ])
        expect(profiles.get("u_2" as UserId)).toMatchObject({ accesses: 1, activeDays: 1 })
      }).pipe(Effect.provide(layer())))

    it.effect("keeps the rollup right when a day already rolled up receives more events", () =>
      Effect.gen(function* () {
        const w = yield* warehouse
        yield* w.append([event("a", "u_1", "github", "2026-10-02T09:00:00Z")])
        yield* w.settle
        yield* w.append([event("a", "u_1", "github", "2026-10-02T09:00:00Z"), event("b", "u_1", "github", "2026-10-02T12:00:00Z")])
        const profiles = yield* w.profiles(night, users) // settles by itself
        expect(profiles.get("u_1" as UserId)?.accesses).toBe(2)
        expect(yield* w.settle).toBe(0)
      }).pipe(Effect.provide(layer())))

    it.effect("stores text exactly as given, with the characters that delimit rows and columns", () =>
      Effect.gen(function* () {
        const w = yield* warehouse
        const app = "tab\there, newline\nthere, return\rthere, backslash\\N and \\t"
        expect(yield* w.append([event("x\ty\\z", "u_1", app, "2026-10-02T09:00:00Z")])).toMatchObject({ inserted: 1 })
        expect(yield* w.append([event("x\ty\\z", "u_1", app, "2026-10-02T09:00:00Z")])).toMatchObject({ inserted: 0 })
        const profiles = yield* w.profiles(night, users)
        expect(profiles.get("u_1" as UserId)?.apps.map((a) => a.app)).toEqual([app])
      }).pipe(Effect.provide(layer())))

    it.effect("settles only the days before a day when asked, and the rest later", () =>
      Effect.gen(function* () {
        const w = yield* warehouse
        yield* w.append([event("a", "u_1", "github", "2026-10-02T09:00:00Z"), event("b", "u_1", "github", "2026-10-20T09:00:00Z")])
        expect(yield* w.settleBefore("2026-10-20")).toBe(1)
        expect(yield* w.settleBefore("2026-10-20")).toBe(0)
        expect(yield* w.settle).toBe(1)
      }).pipe(Effect.provide(layer())))

    it.effect("refuses a batch with a value it cannot store, as ValuesRefused, storing none of it", () =>
      Effect.gen(function* () {
        const w = yield* warehouse
        const exit = yield* Effect.exit(w.append([event("ok", "u_1", "github", "2026-10-02T09:00:00Z"), event("bad", "u_1", "github", "2026-10-02T10:00:00Z", 40_000)]))
        expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error._tag : exit).toBe("ValuesRefused")
        expect((yield* w.profiles(night, users)).size).toBe(0)
      }).pipe(Effect.provide(layer())))

    it.effect("knows the days it holds and makes room for new ones ahead of their events", () =>
      Effect.gen(function* () {
        const w = yield* warehouse
        yield* w.append([event("a", "u_1", "github", "2026-10-02T09:00:00Z")])
        yield* w.prepareDays(["2026-10-20"])
        const known = yield* w.knownDays
        expect([known("2026-10-02"), known("2026-10-20"), known("2026-10-21")]).toEqual([true, true, false])
      }).pipe(Effect.provide(layer())))

    it.effect("drops the days before a cutoff, events and rollups, and nothing after it", () =>
      Effect.gen(function* () {
        const w = yield* warehouse
        yield* w.append([event("a", "u_1", "github", "2026-10-02T09:00:00Z"), event("b", "u_2", "github", "2026-10-10T09:00:00Z")])
        yield* w.settle
        expect(yield* w.dropBefore("2026-10-05")).toBe(1)
        expect([...(yield* w.profiles(night, users)).keys()]).toEqual(["u_2"])
        expect((yield* w.knownDays)("2026-10-02")).toBe(false)
        expect(yield* w.dropBefore("2026-10-05")).toBe(0)
      }).pipe(Effect.provide(layer())))

    it.effect("forgets a user: their events and rollups go, nobody else's", () =>
      Effect.gen(function* () {
        const w = yield* warehouse
        yield* w.append([event("a", "u_1", "github", "2026-10-02T09:00:00Z"), event("b", "u_2", "github", "2026-10-02T10:00:00Z")])
        yield* w.settle
        const deleted = yield* w.forget("u_1" as UserId)
        expect(Object.values(deleted).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2)
        expect([...(yield* w.profiles(night, users)).keys()]).toEqual(["u_2"])
        // Forgotten means gone: a re-delivery of their event is new again (intake decides whether to take it).
        expect((yield* w.append([event("a", "u_1", "github", "2026-10-02T09:00:00Z")])).inserted).toBe(1)
      }).pipe(Effect.provide(layer())))

    it.effect("tells which of some users still have activity", () =>
      Effect.gen(function* () {
        const w = yield* warehouse
        yield* w.append([event("a", "u_1", "github", "2026-10-02T09:00:00Z"), event("b", "u_2", null, "2026-10-02T10:00:00Z")])
        yield* w.settle
        expect([...(yield* w.usersWithActivity(["u_1", "u_2", "u_3"] as Array<UserId>))]).toEqual(["u_1"])
        expect((yield* w.usersWithActivity([])).size).toBe(0)
      }).pipe(Effect.provide(layer())))

    it.effect("re-keys every user pseudonym: profiles follow the new ids, and it counts the ids it changed", () =>
      Effect.gen(function* () {
        const w = yield* warehouse
        yield* w.append([event("a", "u_1", "github", "2026-10-02T09:00:00Z"), event("b", "u_2", "jira", "2026-10-03T10:00:00Z")])
        yield* w.settle
        // u_1, u_2 and the session s_0123
        expect(yield* w.rekey((old) => `${old}_v1`)).toBe(3)
        const profiles = yield* w.profiles(night, ["u_1_v1", "u_2_v1", "u_3_v1"] as ReadonlyArray<string> as ReadonlyArray<UserId>)
        expect([...profiles.keys()].sort()).toEqual(["u_1_v1", "u_2_v1"])
        expect(profiles.get("u_2_v1" as UserId)?.apps.map((a) => a.app)).toEqual(["jira"])
      }).pipe(Effect.provide(layer())))
  })
