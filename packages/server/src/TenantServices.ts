import { TenantLayers } from "@workcat/pipeline"
import { AuditLog, FLEET, type Permission, type TenantId, TenantNotFound } from "@workcat/tenancy"
import { Effect, Layer } from "effect"
import { authorize, CurrentPrincipal, NotFound } from "./Auth.js"
import { FRESH_MS, FreshSettings } from "./Fresh.js"

/**
 * A tenant's services; a tenant removed meanwhile is a 404, failing infrastructure a defect. So is
 * a schema this build cannot use (`TenantSchemaOutdated`, `TenantSchemaAhead`), which
 * `respondToFailures` answers with a 503 naming the fix.
 */
const tenantLayer = (tenant: TenantId, maxAgeMs: number) =>
  TenantLayers.get(tenant, maxAgeMs).pipe(
    Layer.catchAll((e) => (e instanceof TenantNotFound ? Layer.fail(new NotFound({ message: "Not found" })) : Layer.die(e)))
  )

/**
 * Runs a handler inside a tenant's layer, once the caller is authorized for `permission` on it:
 * the layer (a connection as the tenant's role) is only opened for a caller allowed in.
 */
export const forTenant =
  (tenant: TenantId, permission: Permission) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    authorize(tenant, permission).pipe(Effect.zipRight(Effect.provide(effect, tenantLayer(tenant, 0))))

/**
 * Runs a read inside a tenant's layer, with no authorization of its own (a read shared by
 * authorized requests, see `Fresh.ts`): a build found current within `FRESH` is trusted without
 * asking the registry again. Writes go through `forTenant`, which asks every time (a key rotated
 * by another process must not be written past).
 */
export const inTenant =
  (tenant: TenantId) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.provide(effect, tenantLayer(tenant, FRESH_MS))

/** The tenant's settings as of at most `FRESH` ago, with their revision and this server's generation of the tenant (see `FreshSettings`); a tenant removed meanwhile is a 404. */
export const settingsOf = (tenant: TenantId) =>
  Effect.flatMap(FreshSettings, (s) => s.get(tenant)).pipe(Effect.catchTag("TenantNotFound", () => new NotFound({ message: "Not found" })))

/** Records an API action in the tenant's audit log, as the current principal. */
export const audit = (action: string, details: Readonly<Record<string, unknown>> = {}) =>
  Effect.gen(function* () {
    const principal = yield* CurrentPrincipal
    const log = yield* AuditLog
    yield* log.record({
      tenant: principal.tenant ?? FLEET,
      actor: principal.actor,
      role: principal.role,
      action,
      details,
      origin: principal.origin
    })
  })
