import { type TenantId, TenantNotFound, TenantRegistry, type TenantSettings } from "@workcat/tenancy"
import { Cache, Cause, Context, Duration, Effect, Layer, Option } from "effect"

/**
 * How long a server reuses what it read of the control plane and a tenant's read model: a
 * revoked token, a changed setting, a new night's results or a forget reach every server process
 * within this.
 */
export const FRESH = Duration.seconds(1)
export const FRESH_MS = Duration.toMillis(FRESH)

/**
 * A cache of reads for `FRESH`, shared by concurrent callers: a read is not cut short by the
 * caller that started it going away (a client closing its connection), and a failure is kept only
 * when `keep` says it is an answer (a refused token), never when the read could not be made (the
 * next caller reads again).
 */
export const freshCache = <K, A, E, R>(lookup: (key: K) => Effect.Effect<A, E, R>, keep: (error: E) => boolean = () => false) =>
  Effect.map(Cache.make({ capacity: 10_000, timeToLive: FRESH, lookup: (key: K) => Effect.uninterruptible(lookup(key)) }), (cache) => ({
    get: (key: K) =>
      cache.get(key).pipe(
        Effect.tapErrorCause((cause) => (Cause.failureOption(cause).pipe(Option.exists(keep)) ? Effect.void : cache.invalidate(key)))
      ),
    invalidate: (key: K) => cache.invalidate(key)
  }))

/** A tenant's settings as of at most `FRESH` ago (one registry read a second per tenant, not one per request). */
export class FreshSettings extends Context.Tag("workcat/FreshSettings")<
  FreshSettings,
  {
    readonly get: (tenant: TenantId) => Effect.Effect<TenantSettings, TenantNotFound>
    /** This process changed them: read them again at once (other processes within `FRESH`). */
    readonly changed: (tenant: TenantId) => Effect.Effect<void>
  }
>() {}

export const FreshSettingsLive = Layer.effect(
  FreshSettings,
  Effect.gen(function* () {
    const registry = yield* TenantRegistry
    const cache = yield* freshCache((tenant: TenantId) => Effect.map(registry.get(tenant), (r) => r.settings))
    return { get: (tenant) => cache.get(tenant), changed: (tenant) => cache.invalidate(tenant) }
  })
)
