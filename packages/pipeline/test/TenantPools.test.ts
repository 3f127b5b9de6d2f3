import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { ControlSql, CurrentTenant, type TenantId, TenantRegistry, tenantRole } from "@workcat/tenancy"
import { ConfigProvider, Context, Effect, Exit, Fiber, Layer, Logger, Option, Schedule, Scope, TestClock } from "effect"
import * as TestServices from "effect/TestServices"
import { TenantLayers } from "../src/app/TenantLayers.js"
import { freshTenant, liveTests, TestBase } from "./support/TestLayers.js"

/** A `TenantLayers` of its own, at most `max` tenant builds at once, held in the test's scope. */
const pools = (max: number) =>
  Layer.build(TenantLayers.Default).pipe(
    Effect.map((context) => Context.get(context, TenantLayers)),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["WORKCAT_MAX_TENANT_POOLS", String(max)]])))
  )

/** Fresh tenants, provisioned: no other test's pool ever logs in as their roles. */
const tenants = (prefix: string, n: number) =>
  Effect.gen(function* () {
    const registry = yield* TenantRegistry
    const ids = Array.from({ length: n }, () => freshTenant(prefix))
    yield* Effect.forEach(ids, (id) => registry.create(id), { discard: true })
    return ids
  })

/** A request in the tenant's services: who it is logged in as. */
const query = SqlClient.SqlClient.pipe(
  Effect.flatMap((sql) => sql<{ user: string }>`SELECT current_user AS "user"`),
  Effect.map(([row]) => row!.user)
)
const request = (layers: TenantLayers, tenant: TenantId) => Effect.scoped(Effect.flatMap(layers.runtime(tenant), (runtime) => Effect.provide(query, runtime)))

/** The tenants, of those given, that have connections open right now (by the tenant's role). */
const withConnections = (ids: ReadonlyArray<TenantId>) =>
  Effect.flatMap(ControlSql, (sql) => sql<{ usename: string }>`SELECT DISTINCT usename FROM pg_stat_activity WHERE usename IN ${sql.in(ids.map(tenantRole))}`).pipe(
    Effect.map((rows) => ids.filter((id) => rows.some((row) => row.usename === tenantRole(id)))),
    Effect.orDie
  )

/** `withConnections` once it shows `expected` (a closed pool's backends take a moment to go), or as it is after 3 s. */
const settled = (ids: ReadonlyArray<TenantId>, expected: ReadonlyArray<TenantId>) =>
  withConnections(ids).pipe(
    Effect.filterOrFail((open) => open.join() === expected.join(), (open) => open),
    Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 60 }),
    Effect.merge,
    TestServices.provideLive
  )

describe("tenant pools under a budget of WORKCAT_MAX_TENANT_POOLS", () => {
  it.layer(TestBase, { timeout: 120_000 })((it) => {
    /** These tests wait for real: on connections closing, and on a request kept waiting. */
    const live = liveTests(it)

    live("with a bound of two, three tenants used one after the other never have more than two pools open", () =>
      Effect.gen(function* () {
        const ids = yield* tenants("budget", 3)
        const layers = yield* pools(2)
        let most = 0
        const sampler = yield* withConnections(ids).pipe(
          Effect.tap((open) => Effect.sync(() => void (most = Math.max(most, open.length)))),
          Effect.repeat(Schedule.spaced("5 millis")),
          Effect.fork
        )
        for (const id of ids) expect(yield* request(layers, id)).toBe(tenantRole(id))
        yield* Fiber.interrupt(sampler)
        expect(most).toBe(2)
        expect((yield* withConnections(ids)).length).toBe(2)
      }))

    live("the pool closed to make room is the least recently used one", () =>
      Effect.gen(function* () {
        const [a, b, c] = yield* tenants("lru", 3)
        const layers = yield* pools(2)
        yield* request(layers, a!)
        yield* request(layers, b!)
        yield* request(layers, a!)
        yield* request(layers, c!)
        expect(yield* settled([a!, b!, c!], [a!, c!])).toEqual([a, c])
      }))

    live("a tenant whose pool was closed to make room is served again on its next use", () =>
      Effect.gen(function* () {
        const [a, b, c] = yield* tenants("again", 3)
        const layers = yield* pools(2)
        for (const id of [a!, b!, c!]) yield* request(layers, id)
        expect(yield* settled([a!, b!, c!], [b!, c!])).toEqual([b, c])
        expect(yield* request(layers, a!)).toBe(tenantRole(a!))
        expect(yield* settled([a!, b!, c!], [a!, c!])).toEqual([a, c])
      }))

    live("a pool in use by a long request stays open, and cached, while other tenants are opened; an idle one is closed instead", () =>
      Effect.gen(function* () {
        const [a, b, c] = yield* tenants("busy", 3)
        const layers = yield* pools(2)
        // A long request on `a`, begun first: by last use alone, `a` would be the one to close.
        const long = yield* Scope.make()
        const runtime = yield* layers.runtime(a!).pipe(Scope.extend(long))
        yield* request(layers, b!)
        yield* request(layers, c!)
        expect(yield* settled([a!, b!, c!], [a!, c!])).toEqual([a, c])
        // The long request goes on with its pool, and the next request gets the same build, not a rebuilt one.
        expect(yield* Effect.provide(query, runtime)).toBe(tenantRole(a!))
        yield* Scope.close(long, Exit.void)
        const next = yield* layers.runtime(a!)
        expect(Context.get(next.context, CurrentTenant)).toBe(Context.get(runtime.context, CurrentTenant))
      }))

    live("a tenant that finds every pool in use waits, says so, and is served once one is released", () =>
      Effect.gen(function* () {
        const [a, b, c] = yield* tenants("wait", 3)
        const layers = yield* pools(2)
        const holdA = yield* Scope.make()
        yield* layers.runtime(a!).pipe(Scope.extend(holdA))
        yield* layers.runtime(b!)
        const logs: Array<string> = []
        const logger = Logger.make(({ message }) => void logs.push(String(message)))
        const waiting = yield* request(layers, c!).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)), Effect.fork)
        yield* Effect.sleep("500 millis")
        expect(Option.isNone(yield* Fiber.poll(waiting))).toBe(true)
        expect(yield* withConnections([a!, b!, c!])).toEqual([a, b])
        expect(logs).toEqual([`All 2 tenant pools are in use; ${c} waits for one to be released`])
        yield* Scope.close(holdA, Exit.void)
        expect(yield* Fiber.join(waiting)).toBe(tenantRole(c!))
        expect(yield* settled([a!, b!, c!], [b!, c!])).toEqual([b, c])
      }))

    live("with a bound of one, a tenant whose build went stale is rebuilt: the stale build gives up its slot first", () =>
      Effect.gen(function* () {
        const [a] = yield* tenants("stale", 1)
        const layers = yield* pools(1)
        yield* request(layers, a!)
        yield* Effect.flatMap(TenantRegistry, (r) => r.update(a!, { maxConcurrentRuns: 3 }))
        const seen = yield* layers.runtime(a!).pipe(
          Effect.map((runtime) => Context.get(runtime.context, CurrentTenant).settings.maxConcurrentRuns),
          Effect.timeout("10 seconds")
        )
        expect(seen).toBe(3)
      }))

    it.scoped("an idle pool is still closed after five idle minutes, not before", () =>
      Effect.gen(function* () {
        const [a] = yield* tenants("idle", 1)
        const layers = yield* pools(2)
        yield* request(layers, a!)
        yield* TestClock.adjust("4 minutes")
        expect(yield* withConnections([a!])).toEqual([a])
        yield* TestClock.adjust("2 minutes")
        expect(yield* settled([a!], [])).toEqual([])
      }))
  })
})
