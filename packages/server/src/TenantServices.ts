import { PipelineLive } from "@workcat/pipeline"
import { AuditLog, type Permission, type TenantId, TenantNotFound } from "@workcat/tenancy"
import { Effect, Layer, LayerMap } from "effect"
import { authorize, CurrentPrincipal, NotFound } from "./Auth.js"

/**
 * One tenant's pipeline services per tenant id, built on first request and released after five
 * idle minutes (each holds a small connection pool logged in as the tenant's role).
 */
export class TenantServices extends LayerMap.Service<TenantServices>()("workcat/TenantServices", {
  lookup: (tenant: TenantId) => PipelineLive(tenant),
  idleTimeToLive: "5 minutes"
}) {}

/** A tenant's services; a tenant removed meanwhile is a 404, failing infrastructure a defect. */
const tenantLayer = (tenant: TenantId) =>
  TenantServices.get(tenant).pipe(
    Layer.catchAll((e) => (e instanceof TenantNotFound ? Layer.fail(new NotFound({ message: "Not found" })) : Layer.die(e)))
  )

/** Runs a handler inside a tenant's layer, once the caller is authorized for `permission` on it. */
export const forTenant =
  (tenant: TenantId, permission: Permission) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    authorize(tenant, permission).pipe(Effect.zipRight(effect), Effect.provide(tenantLayer(tenant)))

/** Records an API action in the tenant's audit log, as the current principal. */
export const audit = (action: string, details: Readonly<Record<string, unknown>> = {}) =>
  Effect.gen(function* () {
    const principal = yield* CurrentPrincipal
    const log = yield* AuditLog
    yield* log.record({
      tenant: principal.tenant,
      actor: `token:${principal.tokenId}`,
      role: principal.role,
      action,
      details,
      origin: principal.origin
    })
  })
