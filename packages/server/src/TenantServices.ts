import { TenantLayers } from "@workcat/pipeline"
import { AuditLog, type Permission, type TenantId, TenantNotFound } from "@workcat/tenancy"
import { Effect, Layer } from "effect"
import { authorize, CurrentPrincipal, NotFound } from "./Auth.js"

/**
 * A tenant's services; a tenant removed meanwhile is a 404, failing infrastructure a defect. So is
 * a schema this build cannot use (`TenantSchemaOutdated`, `TenantSchemaAhead`), which
 * `respondToFailures` answers with a 503 naming the fix.
 */
const tenantLayer = (tenant: TenantId) =>
  TenantLayers.get(tenant).pipe(
    Layer.catchAll((e) => (e instanceof TenantNotFound ? Layer.fail(new NotFound({ message: "Not found" })) : Layer.die(e)))
  )

/**
 * Runs a handler inside a tenant's layer, once the caller is authorized for `permission` on it:
 * the layer (a connection as the tenant's role) is only opened for a caller allowed in.
 */
export const forTenant =
  (tenant: TenantId, permission: Permission) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    authorize(tenant, permission).pipe(Effect.zipRight(Effect.provide(effect, tenantLayer(tenant))))

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
