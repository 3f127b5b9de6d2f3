import { CurrentTenant, type TenantId, TenantRegistry } from "@workcat/tenancy"
import {
  Clock,
  Config,
  Context,
  Data,
  Deferred,
  Duration,
  Effect,
  ExecutionStrategy,
  Exit,
  Layer,
  LayerMap,
  MutableHashMap,
  Option,
  RcMap,
  type Runtime,
  Schedule,
  Scope
} from "effect"
import { EventStore } from "../warehouse/postgres/EventStore.js"
import { PipelineLive } from "./Layers.js"

/** A cached build of a tenant's services; a new generation replaces one found out of date, evicted or expired. */
type Key = { readonly tenant: TenantId; readonly generation: number }

/** What is known of one build: its users (requests holding or awaiting it) and whether it holds a pool slot. */
interface Entry {
  users: number
  /** The `tick` of its last acquire or release: the least recently used build has the smallest. */
  lastUsed: number
  /** When its last user released it (by `Clock`), for the idle time to live. */
  idleSince: number
  slot: boolean
}

/** Idle builds are closed after this long (within a minute more: the sweep runs every minute). */
const IDLE_TIME_TO_LIVE = Duration.minutes(5)

/**
 * One tenant's pipeline services per tenant id, built on first use and released after five idle
 * minutes, give or take the minute between sweeps (each holds a small connection pool logged in as
 * the tenant's role). Shared by the server's handlers and the run executor.
 *
 * A build holds what it read of the tenant: settings and key version. Another process may change
 * them (`tenants set`, `tenants rotate-key`, a tenant removed and created again), so every use
 * first compares the build with the registry's revision and the tenant's key version (two small
 * queries) and replaces a stale one. A build is replaced under a new key rather than invalidated
 * in place: a request still using the old build keeps it until it ends, and only then is it closed.
 *
 * At most `WORKCAT_MAX_TENANT_POOLS` builds (each up to `WORKCAT_TENANT_POOL_SIZE` connections)
 * exist at once, retired ones still in use included. A build needed beyond that closes the least
 * recently used build no request is using; when every build is in use it waits for one to be
 * released (span `TenantLayers.awaitPool`) rather than open connections past the budget, which
 * would fail with "too many clients" for every process on the database, not just this request.
 */
export class TenantLayers extends Effect.Service<TenantLayers>()("workcat/TenantLayers", {
  scoped: Effect.gen(function* () {
    const registry = yield* TenantRegistry
    const maxPools = yield* Config.integer("WORKCAT_MAX_TENANT_POOLS").pipe(
      Config.validate({ message: "must be at least 1", validation: (n) => n >= 1 }),
      Config.withDefault(6)
    )
    const generations = new Map<TenantId, number>()
    const keyOf = (tenant: TenantId): Key => Data.struct({ tenant, generation: generations.get(tenant) ?? 0 })
    /** A key is listed (in the map, or about to be) while its generation is the tenant's current one. */
    const listed = (key: Key) => (generations.get(key.tenant) ?? 0) === key.generation

    // Every decision below is one synchronous block, so no other fiber sees a half-made one.
    const entries = MutableHashMap.empty<Key, Entry>()
    let slots = 0
    let tick = 0
    let waiters: Array<Deferred.Deferred<void>> = []
    const wake = () => {
      for (const waiter of waiters) Deferred.unsafeDone(waiter, Exit.void)
      waiters = []
    }
    const entryOf = (key: Key): Entry =>
      Option.getOrElse(MutableHashMap.get(entries, key), () => {
        const entry: Entry = { users: 0, lastUsed: tick, idleSince: 0, slot: false }
        MutableHashMap.set(entries, key, entry)
        return entry
      })
    const forget = (key: Key, entry: Entry) => {
      if (entry.users === 0 && !entry.slot && !listed(key)) MutableHashMap.remove(entries, key)
    }
    /** Takes the key out of the map (once: callers that found the same build stale race here). */
    const unlist = (key: Key): boolean => {
      if (!listed(key)) return false
      generations.set(key.tenant, key.generation + 1)
      Option.map(MutableHashMap.get(entries, key), (entry) => forget(key, entry))
      return true
    }

    type Attempt =
      | { readonly _tag: "Reserved" }
      | { readonly _tag: "Evict"; readonly victim: Key }
      | { readonly _tag: "Full"; readonly waiter: Deferred.Deferred<void> }
    /** A free slot, else the least recently used idle build to close for one, else a place among the waiters. */
    const take = (key: Key, waiter: Deferred.Deferred<void>): Attempt => {
      if (slots < maxPools) {
        slots++
        entryOf(key).slot = true
        return { _tag: "Reserved" }
      }
      let victim: [Key, Entry] | undefined
      for (const [k, e] of entries) {
        if (e.slot && e.users === 0 && listed(k) && (victim === undefined || e.lastUsed < victim[1].lastUsed)) victim = [k, e]
      }
      if (victim !== undefined && unlist(victim[0])) return { _tag: "Evict", victim: victim[0] }
      waiters.push(waiter)
      return { _tag: "Full", waiter }
    }
    const free = (key: Key) =>
      Effect.sync(() => {
        slots--
        Option.map(MutableHashMap.get(entries, key), (entry) => {
          entry.slot = false
          forget(key, entry)
        })
        wake()
      })
    const attempt = (key: Key) =>
      Effect.flatMap(Deferred.make<void>(), (waiter) =>
        Effect.uninterruptible(
          Effect.suspend((): Effect.Effect<Attempt, never, Scope.Scope> => {
            const outcome = take(key, waiter)
            return outcome._tag === "Reserved" ? Effect.as(Effect.addFinalizer(() => free(key)), outcome) : Effect.succeed(outcome)
          })
        )
      )
    /** Closes a build no one uses. Uninterruptibly: a close cut short would leave its pool open and its slot taken. */
    const close = (key: Key, reason: "evicted" | "expired") =>
      Effect.uninterruptible(RcMap.invalidate(map.rcMap, key)).pipe(
        Effect.withSpan("TenantLayers.close", { attributes: { tenant: key.tenant, generation: key.generation, reason } })
      )

    /** Holds a pool slot for the key's build until the build's scope closes (after its pool has ended). */
    const reserve = (key: Key, waiting = false): Effect.Effect<void, never, Scope.Scope> =>
      Effect.flatMap(attempt(key), (outcome) => {
        if (outcome._tag === "Reserved") return Effect.void
        if (outcome._tag === "Evict") return Effect.zipRight(close(outcome.victim, "evicted"), reserve(key, waiting))
        const wait = Effect.zipRight(Deferred.await(outcome.waiter), reserve(key, true))
        return waiting
          ? wait
          : Effect.logWarning(`All ${maxPools} tenant pools are in use; ${key.tenant} waits for one to be released`).pipe(
              Effect.zipRight(wait),
              Effect.withSpan("TenantLayers.awaitPool", { attributes: { tenant: key.tenant, maxPools } })
            )
      })

    // Idle builds stay (an infinite time to live) until this service closes them: evicted or expired.
    const map = yield* LayerMap.make(
      (key: Key) => Layer.unwrapScoped(Effect.as(reserve(key), PipelineLive(key.tenant))),
      { idleTimeToLive: Duration.infinity }
    )

    const expire = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const idle = yield* Effect.sync(() => {
        const keys: Array<Key> = []
        for (const [key, e] of entries) {
          if (e.users === 0 && listed(key) && now - e.idleSince >= Duration.toMillis(IDLE_TIME_TO_LIVE)) keys.push(key)
        }
        return keys.filter(unlist)
      })
      yield* Effect.forEach(idle, (key) => close(key, "expired"), { discard: true })
    })
    yield* expire.pipe(Effect.repeat(Schedule.spaced("1 minute")), Effect.forkScoped)

    /** The key's build, held (and counted as in use) in the caller's scope. */
    const hold = (key: Key) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          const entry = entryOf(key)
          entry.users++
          entry.lastUsed = ++tick
        }),
        () =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Effect.sync(() => {
              const entry = entryOf(key)
              entry.users--
              entry.lastUsed = ++tick
              if (entry.users > 0) return
              entry.idleSince = now
              forget(key, entry)
              if (entry.slot) wake()
            })
          )
      ).pipe(
        // Released after the map's own reference (finalizers run in reverse): a build counted idle is idle.
        Effect.zipRight(RcMap.get(map.rcMap, key)),
        // A failed build is not kept: the next use tries again (a tenant created meanwhile).
        Effect.tapError(() => retire(key))
      )

    /** Retires a generation (once: callers that found the same one stale race here). */
    const retire = (key: Key) => Effect.suspend(() => (unlist(key) ? RcMap.invalidate(map.rcMap, key) : Effect.void))

    type Services = Layer.Layer.Success<ReturnType<typeof PipelineLive>>
    const isCurrent = (runtime: Runtime.Runtime<Services>) => {
      const tenant = Context.get(runtime.context, CurrentTenant)
      const store = Context.get(runtime.context, EventStore)
      return Effect.all([registry.revision(tenant.id), store.storedKeyVersion], { concurrency: 2 }).pipe(
        Effect.map(([revision, keyVersion]) => Option.contains(revision, tenant.revision) && keyVersion === tenant.keyVersion),
        // A pool whose role was dropped (the tenant removed) cannot even ask: out of date too.
        Effect.orElseSucceed(() => false)
      )
    }

    /** When each build was last found current. */
    const checkedAt = new Map<TenantId, { readonly generation: number; readonly at: number }>()

    /**
     * The tenant's current build, held in the caller's scope. `maxAgeMs` lets a caller that
     * opens the tenant often (a run each) trust a build found current that recently.
     */
    const acquire = (tenant: TenantId, maxAgeMs = 0) =>
      Effect.gen(function* () {
        const key = keyOf(tenant)
        // The first build is held in a scope of its own, let go before asking for a replacement:
        // a request never holds two slots, nor waits for one while holding another.
        const first = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
        const cached = yield* hold(key).pipe(Scope.extend(first))
        const now = Date.now()
        const last = checkedAt.get(tenant)
        if (last !== undefined && last.generation === key.generation && now - last.at < maxAgeMs) return cached
        if (yield* isCurrent(yield* cached.runtimeEffect)) {
          checkedAt.set(tenant, { generation: key.generation, at: now })
          return cached
        }
        yield* retire(key)
        yield* Scope.close(first, Exit.void)
        return yield* hold(keyOf(tenant))
      }).pipe(Effect.withSpan("TenantLayers.acquire", { attributes: { tenant } }))

    /** The tenant's services as a layer (see `acquire` for `maxAgeMs`). */
    const get = (tenant: TenantId, maxAgeMs?: number) => Layer.unwrapScoped(Effect.map(acquire(tenant, maxAgeMs), (build) => build.layer))

    /** The tenant's services as a runtime, held until the scope closes (see `acquire` for `maxAgeMs`). */
    const runtime = (tenant: TenantId, maxAgeMs?: number) => Effect.flatMap(acquire(tenant, maxAgeMs), (build) => build.runtimeEffect)

    /** Drops the tenant's build; the next use builds it again. */
    const invalidate = (tenant: TenantId) => retire(keyOf(tenant))

    return { get, runtime, invalidate } as const
  })
}) {
  /** The tenant's services as a layer, from the `TenantLayers` in context. */
  static readonly get = (tenant: TenantId, maxAgeMs?: number) => Layer.unwrapScoped(Effect.map(TenantLayers, (layers) => layers.get(tenant, maxAgeMs)))
}
