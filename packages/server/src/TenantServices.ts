import { PipelineLive } from "@workcat/pipeline"
import { type TenantId, TenantNotFound } from "@workcat/tenancy"
import { Effect, LayerMap } from "effect"

/**
 * One tenant's pipeline services per tenant id, built on first request and released after five
 * idle minutes (each holds a small connection pool bound to the tenant's schema).
 */
export class TenantServices extends LayerMap.Service<TenantServices>()("workcat/TenantServices", {
  lookup: (tenant: TenantId) => PipelineLive(tenant),
  idleTimeToLive: "5 minutes"
}) {}

/** Runs a handler inside a tenant's layer: an unknown tenant is a 404, any other failure a defect. */
export const withTenant =
  (tenant: TenantId) =>
  <A, R>(effect: Effect.Effect<A, never, R>) =>
    effect.pipe(
      Effect.provide(TenantServices.get(tenant)),
      Effect.catchAll((e) => (e instanceof TenantNotFound ? Effect.fail(e) : Effect.die(e)))
    )
