import { describe, expect, it } from "@effect/vitest"
import { ControlSql, type TenantId, tenantRole } from "@workcat/tenancy"
import { Effect, Fiber, Layer, Schema } from "effect"
import Pg from "pg"
import { Executor } from "../src/durable/Executor.js"
import * as Pipeline from "../src/durable/Pipeline.js"
import { Pipelines } from "../src/durable/Pipelines.js"
import { Runs } from "../src/durable/Runs.js"
import { BaseLive, CategorizerLive } from "../src/app/Layers.js"
import { runsFor } from "../src/app/Runtime.js"
import { flakyProxy } from "./support/FlakyProxy.js"
import { freshTenant, liveTests, provision, testConfig, testDatabaseUrl } from "./support/TestLayers.js"

/** Leases of 6 s, renewed every 2 s: a blip shorter than a lease must not cost them. */
const LEASE_SECONDS = 6

const calls = new Map<string, number>()
const interrupted = new Set<string>()
/** Items of these runs wait this long on their first call (later calls return at once). */
const firstCallMs = new Map<string, number>()

const Long = Pipeline.make({
  name: "long",
  input: Schema.Struct({ id: Schema.String }),
  output: Schema.Number,
  key: ({ id }) => id,
  run: ({ id }) =>
    Pipeline.fanOut("items", { items: ["a", "b", "c", "d"], key: (s) => s, item: Schema.String, output: Schema.String }, (s) =>
      Effect.gen(function* () {
        const key = `${id}:${s}`
        const n = (calls.get(key) ?? 0) + 1
        calls.set(key, n)
        if (n === 1) yield* Effect.sleep(firstCallMs.get(id) ?? 0).pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted.add(key))))
        return s
      })
    ).pipe(Effect.map((r) => r.done.length))
})

/** A worker process's runtime with this configuration (and these tenants provisioned). */
const runtimeWith = (config: Readonly<Record<string, string>>, ...tenants: ReadonlyArray<TenantId>) =>
  runsFor(Pipelines.layer(Long)).pipe(
    Layer.provide(provision(...tenants)),
    Layer.provideMerge(CategorizerLive),
    Layer.provideMerge(BaseLive.pipe(Layer.provide(testConfig(config))))
  )

const tenants = { blip: freshTenant("hb"), outage: freshTenant("hb"), control: freshTenant("hb") }
const Runtime = runtimeWith({ WORKCAT_LEASE_SECONDS: String(LEASE_SECONDS) }, ...Object.values(tenants))

const itemsOf = (id: string) => ["a", "b", "c", "d"].map((s) => `${id}:${s}`)
const until = (condition: () => boolean) => Effect.sleep("20 millis").pipe(Effect.repeat({ until: condition }))

/**
 * The tenant's database sessions are dropped and it cannot log in again until `restore`: a
 * failover or a pooler restart, as the tenant's own connections see it.
 */
const cutTenant = (tenant: TenantId) =>
  Effect.gen(function* () {
    const sql = yield* ControlSql
    const role = Pg.escapeIdentifier(tenantRole(tenant))
    yield* sql.unsafe(`ALTER ROLE ${role} NOLOGIN`)
    yield* sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ${tenantRole(tenant)}`
    return sql.unsafe(`ALTER ROLE ${role} LOGIN`).pipe(Effect.orDie, Effect.asVoid)
  })

describe("leases and heartbeats", () => {
  it.layer(Runtime, { timeout: 90_000 })((it) => {
    const live = liveTests(it)

    live("heartbeats survive a blip in the tenant's connections: no item runs in two workers", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        firstCallMs.set("blip", 9_000)
        const { run } = yield* runs.start("long", tenants.blip, { id: "blip" })
        const driver = yield* Effect.fork(runs.await(run.id, { concurrency: 4 }))
        yield* until(() => itemsOf("blip").every((k) => calls.has(k)))
        const claimedAt = Date.now() // the items were claimed just before
        // Down for 2.5 s: the heartbeat due 2 s after the start fails; the next one, 2 s later, works.
        const restore = yield* cutTenant(tenants.blip)
        yield* Effect.sleep("2500 millis").pipe(Effect.ensuring(restore))
        // Leases taken at the start and not renewed since would have lapsed by now.
        yield* Effect.sleep(Math.max(0, claimedAt + LEASE_SECONDS * 1000 + 1000 - Date.now()))
        const other = yield* Layer.build(Layer.fresh(Executor.Default))
        const theirs = yield* Executor.pipe(Effect.flatMap((e) => e.execute(run.id, { concurrency: 4 })), Effect.provide(other))
        const mine = yield* Fiber.join(driver)
        expect([mine.state, theirs.state]).toEqual(["READY", "READY"])
        expect(itemsOf("blip").map((k) => calls.get(k))).toEqual([1, 1, 1, 1])
      }))

    live("a worker that cannot renew its leases for a whole lease stops working on its items; the run resumes after", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        firstCallMs.set("outage", 30_000)
        const { run } = yield* runs.start("long", tenants.outage, { id: "outage" })
        const executor = yield* Executor
        const driver = yield* Effect.fork(executor.execute(run.id, { concurrency: 4 }))
        yield* until(() => itemsOf("outage").every((k) => calls.has(k)))
        const restore = yield* cutTenant(tenants.outage)
        const stopped = yield* Fiber.join(driver).pipe(Effect.timeout("20 seconds"), Effect.ensuring(restore))
        expect(stopped.state).toBe("PROCESSING") // not ended: only this worker stopped
        expect([...interrupted].filter((k) => k.startsWith("outage:")).sort()).toEqual(itemsOf("outage"))
        expect(yield* runs.await(run.id, { concurrency: 4 })).toMatchObject({ state: "READY", result: 4 })
        expect(itemsOf("outage").map((k) => calls.get(k))).toEqual([2, 2, 2, 2])
      }))

    live("a driver that could not read the run's state for a while still stops when the run is cancelled", () =>
      Effect.gen(function* () {
        const runs = yield* Runs
        firstCallMs.set("watch", 15_000)
        const { run } = yield* runs.start("long", tenants.control, { id: "watch" })
        // A worker process whose connections (control plane and tenant) go through a proxy we cut.
        const proxy = yield* flakyProxy(testDatabaseUrl())
        const worker = yield* Layer.build(runtimeWith({ WORKCAT_LEASE_SECONDS: String(LEASE_SECONDS), DATABASE_URL: proxy.url }))
        const driver = yield* Effect.fork(
          Executor.pipe(Effect.flatMap((e) => e.execute(run.id, { concurrency: 4 })), Effect.provide(worker))
        )
        yield* until(() => itemsOf("watch").every((k) => calls.has(k)))
        yield* proxy.cut
        yield* Effect.sleep("2500 millis").pipe(Effect.ensuring(proxy.restore))
        yield* Effect.sleep("1500 millis")
        yield* runs.cancel(run.id, "test")
        const ended = yield* Fiber.join(driver).pipe(Effect.timeout("6 seconds"))
        expect(ended.state).toBe("CANCELLED")
        expect([...interrupted].filter((k) => k.startsWith("watch:")).sort()).toEqual(itemsOf("watch"))
      }))
  })
})
