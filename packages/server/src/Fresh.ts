import { HttpServerResponse } from "@effect/platform"
import { type TenantId, TenantNotFound, TenantRegistry, type TenantSettings } from "@workcat/tenancy"
import { Cache, Cause, Context, Data, Duration, Effect, Layer, Option, Schema } from "effect"

/**
 * How long a server reuses what it read of the control plane and a tenant's read model: a
 * revoked token, a changed setting, a new night's results or a forget reach every server process
 * within this (after the read that saw the old state ends).
 */
export const FRESH = Duration.seconds(1)
export const FRESH_MS = Duration.toMillis(FRESH)

/**
 * A cache of reads for `FRESH`, shared by concurrent callers: a read is not cut short by the
 * caller that started it going away (a client closing its connection), and a failure is kept only
 * when `keep` says it is an answer (a refused token), never when the read could not be made (the
 * next caller reads again). `capacity` bounds what it holds (answers are kept whole).
 */
export const freshCache = <K, A, E, R>(
  lookup: (key: K) => Effect.Effect<A, E, R>,
  options: { readonly capacity: number; readonly keep?: (error: E) => boolean }
) =>
  Effect.map(Cache.make({ capacity: options.capacity, timeToLive: FRESH, lookup: (key: K) => Effect.uninterruptible(lookup(key)) }), (cache) => ({
    get: (key: K) =>
      cache.get(key).pipe(
        Effect.tapErrorCause((cause) => (Cause.failureOption(cause).pipe(Option.exists(options.keep ?? (() => false))) ? Effect.void : cache.invalidate(key)))
      )
  }))

const encoder = new TextEncoder()

/** An answer encoded by its schema once, as its JSON's bytes: what a reused answer keeps. */
export const encodedJson = <A, I>(schema: Schema.Schema<A, I>) => {
  const encode = Schema.encode(schema)
  return (answer: A) => Effect.map(Effect.orDie(encode(answer)), (json) => encoder.encode(JSON.stringify(json)))
}

/** A reused answer as the response (the encoding it would get is already in it). */
export const jsonResponse = (body: Uint8Array) => HttpServerResponse.uint8Array(body, { contentType: "application/json" })

/**
 * A tenant's settings as of at most `FRESH` ago (one registry read a second per tenant, not one
 * per request), and its generation on this server: what this server changed itself (a settings
 * PATCH, a forget) starts a new generation, which every cache keys on, so those apply here at once.
 */
export class FreshSettings extends Context.Tag("workcat/FreshSettings")<
  FreshSettings,
  {
    readonly get: (tenant: TenantId) => Effect.Effect<{ readonly settings: TenantSettings; readonly revision: string; readonly generation: number }, TenantNotFound>
    /** This server changed the tenant's settings or read model: what it reuses of them is read again. */
    readonly changed: (tenant: TenantId) => Effect.Effect<void>
  }
>() {}

export const FreshSettingsLive = Layer.effect(
  FreshSettings,
  Effect.gen(function* () {
    const registry = yield* TenantRegistry
    const generations = new Map<TenantId, number>()
    const generationOf = (tenant: TenantId) => generations.get(tenant) ?? 0
    const cache = yield* freshCache(
      (key: { readonly tenant: TenantId; readonly generation: number }) => Effect.map(registry.get(key.tenant), (r) => ({ settings: r.settings, revision: r.revision })),
      { capacity: 10_000 }
    )
    return {
      get: (tenant) =>
        Effect.suspend(() => {
          const generation = generationOf(tenant)
          return Effect.map(cache.get(Data.struct({ tenant, generation })), (read) => ({ ...read, generation }))
        }),
      changed: (tenant) => Effect.sync(() => void generations.set(tenant, generationOf(tenant) + 1))
    }
  })
)
