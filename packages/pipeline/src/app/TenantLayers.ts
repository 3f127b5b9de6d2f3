import * as SqlClient from "@effect/sql/SqlClient"
import { CurrentTenant, type TenantId, TenantRegistry } from "@workcat/tenancy"
import { Context, Data, Effect, Layer, LayerMap, Option, RcMap, type Runtime } from "effect"
import { PipelineLive } from "./Layers.js"

/** A cached build of a tenant's services; a new generation replaces one found out of date. */
type Key = { readonly tenant: TenantId; readonly generation: number }

/**
 * One tenant's pipeline services per tenant id, built on first use and released after five idle
 * minutes (each holds a small connection pool logged in as the tenant's role). Shared by the
 * server's handlers and the run executor.
 *
 * A build holds what it read of the tenant: settings and key version. Another process may change
 * them (`tenants set`, `tenants rotate-key`, a tenant removed and created again), so every use
 * first compares the build with the registry's revision and the tenant's key version (two small
 * queries) and replaces a stale one. A build is replaced under a new key rather than invalidated
 * in place: a request still using the old build keeps it until it ends, and only then is it closed.
 */
export class TenantLayers extends Effect.Service<TenantLayers>()("workcat/TenantLayers", {
  scoped: Effect.gen(function* () {
    const registry = yield* TenantRegistry
    const map = yield* LayerMap.make((key: Key) => PipelineLive(key.tenant), { idleTimeToLive: "5 minutes" })
    const generations = new Map<TenantId, number>()
    const keyOf = (tenant: TenantId): Key => Data.struct({ tenant, generation: generations.get(tenant) ?? 0 })

    /** Retires a generation (once: callers that found the same one stale race here). */
    const retire = (key: Key) =>
      Effect.suspend(() => {
        if ((generations.get(key.tenant) ?? 0) !== key.generation) return Effect.void
        generations.set(key.tenant, key.generation + 1)
        return RcMap.invalidate(map.rcMap, key)
      })

    type Services = Layer.Layer.Success<ReturnType<typeof PipelineLive>>
    const isCurrent = (runtime: Runtime.Runtime<Services>) => {
      const tenant = Context.get(runtime.context, CurrentTenant)
      const sql = Context.get(runtime.context, SqlClient.SqlClient)
      return Effect.all(
        [registry.revision(tenant.id), sql<{ keyVersion: number }>`SELECT key_version AS "keyVersion" FROM tenant_state`],
        { concurrency: 2 }
      ).pipe(
        Effect.map(([revision, [state]]) => Option.contains(revision, tenant.revision) && state?.keyVersion === tenant.keyVersion),
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
        const cached = yield* RcMap.get(map.rcMap, key).pipe(
          // A failed build is not kept: the next use tries again (a tenant created meanwhile).
          Effect.tapError(() => retire(key))
        )
        const now = Date.now()
        const last = checkedAt.get(tenant)
        if (last !== undefined && last.generation === key.generation && now - last.at < maxAgeMs) return cached
        if (yield* isCurrent(yield* cached.runtimeEffect)) {
          checkedAt.set(tenant, { generation: key.generation, at: now })
          return cached
        }
        yield* retire(key)
        return yield* RcMap.get(map.rcMap, keyOf(tenant)).pipe(Effect.tapError(() => retire(keyOf(tenant))))
      }).pipe(Effect.withSpan("TenantLayers.acquire", { attributes: { tenant } }))

    /** The tenant's services as a layer. */
    const get = (tenant: TenantId) => Layer.unwrapScoped(Effect.map(acquire(tenant), (build) => build.layer))

    /** The tenant's services as a runtime, held until the scope closes (see `acquire` for `maxAgeMs`). */
    const runtime = (tenant: TenantId, maxAgeMs?: number) => Effect.flatMap(acquire(tenant, maxAgeMs), (build) => build.runtimeEffect)

    /** Drops the tenant's build; the next use builds it again. */
    const invalidate = (tenant: TenantId) => retire(keyOf(tenant))

    return { get, runtime, invalidate } as const
  })
}) {
  /** The tenant's services as a layer, from the `TenantLayers` in context. */
  static readonly get = (tenant: TenantId) => Layer.unwrapScoped(Effect.map(TenantLayers, (layers) => layers.get(tenant)))
}
