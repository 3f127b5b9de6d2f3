import { HttpApiMiddleware, HttpApiSchema, HttpApiSecurity, HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { ApiTokens, can, networkOf, type Permission, type Principal, type TenantId } from "@workcat/tenancy"
import { Config, Context, Effect, Layer, Schema } from "effect"
import { makeRateLimiter } from "./RateLimit.js"

/** The authenticated caller of the current request, and the network it calls from. */
export class CurrentPrincipal extends Context.Tag("workcat/CurrentPrincipal")<
  CurrentPrincipal,
  Principal & { readonly origin: string | null }
>() {}

export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 401 })
) {}

export class Forbidden extends Schema.TaggedError<Forbidden>()(
  "Forbidden",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 403 })
) {}

/** Unknown tenant, or another tenant's: the same answer, so tenant ids cannot be probed. */
export class NotFound extends Schema.TaggedError<NotFound>()(
  "NotFound",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {}

export class TooManyRequests extends Schema.TaggedError<TooManyRequests>()(
  "TooManyRequests",
  { message: Schema.String, retryAfterSeconds: Schema.Int },
  HttpApiSchema.annotations({ status: 429 })
) {}

/** Bearer tokens on every endpoint of a group it is applied to; also the per-token rate limit. */
export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("workcat/Authentication", {
  failure: Schema.Union(Unauthorized, TooManyRequests),
  provides: CurrentPrincipal,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

/** `WORKCAT_API_RATE_LIMIT` requests per minute per token (default 600). */
export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function* () {
    const tokens = yield* ApiTokens
    const perMinute = yield* Config.integer("WORKCAT_API_RATE_LIMIT").pipe(Config.withDefault(600))
    const take = makeRateLimiter({ perMinute })
    return {
      bearer: (token) =>
        Effect.gen(function* () {
          const principal = yield* tokens.verify(token).pipe(
            Effect.mapError(() => new Unauthorized({ message: "A valid bearer token is required" }))
          )
          const wait = take(principal.tokenId)
          if (wait > 0) {
            yield* HttpApp.appendPreResponseHandler((_, response) =>
              Effect.succeed(HttpServerResponse.setHeader(response, "retry-after", String(wait)))
            )
            return yield* new TooManyRequests({ message: `Rate limit of ${perMinute} requests a minute exceeded`, retryAfterSeconds: wait })
          }
          const request = yield* HttpServerRequest.HttpServerRequest
          return { ...principal, origin: networkOf(request.remoteAddress._tag === "Some" ? request.remoteAddress.value : undefined) }
        })
    }
  })
)

/**
 * The caller may act on `tenant` with `permission`: another tenant's resources are a 404 (as if
 * they did not exist), a missing right on one's own tenant a 403.
 */
export const authorize = (tenant: TenantId, permission: Permission) =>
  Effect.gen(function* () {
    const principal = yield* CurrentPrincipal
    if (principal.tenant !== tenant) return yield* new NotFound({ message: "Not found" })
    if (!can(principal.role, permission)) {
      return yield* new Forbidden({ message: `The ${principal.role} role may not ${permission.replace(":", " ")}` })
    }
    return principal
  })
