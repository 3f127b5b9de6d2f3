import { HttpApiMiddleware, HttpApiSchema, HttpApiSecurity, HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import {
  ApiTokens,
  AuditLog,
  can,
  FLEET,
  isLoopbackHost,
  isSessionShaped,
  isTokenShaped,
  type InvalidToken,
  networkOf,
  type Permission,
  type Principal,
  sameCsrf,
  TenantId,
  TenantRegistry,
  type WebSession,
  WebSessions
} from "@workcat/tenancy"
import { Config, Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import { freshCache } from "./Fresh.js"
import { pathOf } from "./RequestPath.js"
import { makeRateLimiter } from "./RateLimit.js"

/**
 * The authenticated caller of the current request: a token, or a dashboard session (its
 * `session`); who it is in the audit log (`actor`), and the network it calls from.
 */
export class CurrentPrincipal extends Context.Tag("workcat/CurrentPrincipal")<
  CurrentPrincipal,
  Principal & { readonly actor: string; readonly origin: string | null; readonly session?: WebSession | undefined }
>() {}

/**
 * The dashboard's session cookie (HTTP-only, SameSite=Strict): `__Host-workcat_session` when
 * Secure (no sibling subdomain can set or shadow it), `workcat_session` on plain-HTTP loopback.
 */
export const SESSION_COOKIE = "workcat_session"
export const SECURE_SESSION_COOKIE = "__Host-workcat_session"

/** Cookies are Secure unless the browser reaches this server over plain HTTP on loopback (a laptop, a test). */
export const securedRequest = (request: HttpServerRequest.HttpServerRequest) =>
  request.headers["x-forwarded-proto"] === "https" || !isLoopbackHost((request.headers.host ?? "").replace(/:\d+$/, ""))

/** The session cookie a request carries, if any. */
export const sessionCookieOf = (request: HttpServerRequest.HttpServerRequest): string | undefined =>
  request.cookies[SECURE_SESSION_COOKIE] ?? request.cookies[SESSION_COOKIE]

/** The header a session's page sends its CSRF token in, on every request that changes something. */
export const CSRF_HEADER = "x-csrf-token"

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

/**
 * Bearer tokens on every endpoint of a group it is applied to, or without one the dashboard's
 * session cookie (with its CSRF header on anything but GET and HEAD); also the per-caller rate limit.
 */
export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("workcat/Authentication", {
  failure: Schema.Union(Unauthorized, Forbidden, TooManyRequests),
  provides: CurrentPrincipal,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

/** What an audit entry records of a request: its method and path, never its query string (it may carry a secret). */
const requestDetails = (request: HttpServerRequest.HttpServerRequest) => ({ method: request.method, path: pathOf(request.url) })

const originOf = (request: HttpServerRequest.HttpServerRequest) => networkOf(Option.getOrUndefined(request.remoteAddress))

/** The tenant a request's path names (`/api/v1/tenants/{tenant}/…`, `/api/v1/pipeline/history/{tenant}`), if any. */
const TENANT_PATH = /^\/api\/v1\/(?:tenants|pipeline\/history)\/([^/?#]+)/
const pathTenant = (url: string): TenantId | undefined => {
  const segment = TENANT_PATH.exec(url)?.[1]
  if (segment === undefined) return undefined
  try {
    const id = decodeURIComponent(segment)
    return Schema.is(TenantId)(id) ? id : undefined
  } catch {
    return undefined
  }
}

/** Why a token was refused, as the audit log says it (the API answers all of them alike). */
const refusal = (error: InvalidToken | undefined): string => {
  if (error === undefined) return "no token"
  if (error.reason === "unknown") return error.token === undefined ? "unknown token" : "wrong secret"
  return `${error.reason} token`
}

/** Failed authentications audited per minute per tenant and caller network (bursts of 5); the rest are counted. */
const FAILURES_AUDITED_PER_MINUTE = 10

/** `WORKCAT_API_RATE_LIMIT` requests per minute per token (default 600). */
export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function* () {
    const tokens = yield* ApiTokens
    // A token's verdict is reused for a second (`FRESH`): a revoked or expired token is refused
    // within that on every server; a busy client costs a lookup a second, not one a request.
    const verdicts = yield* freshCache((token: Redacted.Redacted<string>) => tokens.verify(token), { capacity: 10_000, keep: (e) => e._tag === "InvalidToken" })
    // The same for sessions: a sign-out, or the end of a session's token, holds within a second everywhere.
    const sessions = yield* WebSessions
    const sessionVerdicts = yield* freshCache((cookie: Redacted.Redacted<string>) => sessions.verify(cookie), {
      capacity: 10_000,
      keep: (e) => e._tag === "InvalidSession"
    })
    const registry = yield* TenantRegistry
    const auditLog = yield* AuditLog
    const perMinute = yield* Config.integer("WORKCAT_API_RATE_LIMIT").pipe(Config.withDefault(600))
    const take = makeRateLimiter({ perMinute })
    // Refused requests are audited at most this often per tenant and network: a loop of bad tokens
    // must not bury a tenant's audit log. The ones skipped are counted into the next entry.
    const auditable = makeRateLimiter({ perMinute: FAILURES_AUDITED_PER_MINUTE })
    const skipped = new Map<string, number>()

    /**
     * A 401 (RFC 6750: `WWW-Authenticate`), audited on the token's tenant when the token is known,
     * else on the tenant the path names if it exists; a request naming no tenant is only logged.
     */
    const unauthorized = (sent: boolean, error: InvalidToken | undefined) =>
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const challenge = sent ? `Bearer realm="workcat", error="invalid_token"` : `Bearer realm="workcat"`
        yield* HttpApp.appendPreResponseHandler((_, response) => Effect.succeed(HttpServerResponse.setHeader(response, "www-authenticate", challenge)))
        const details = { ...requestDetails(request), status: 401, reason: refusal(error) }
        const named = pathTenant(request.url)
        // A known token's own tenant (an operator's: the fleet's), else the tenant the path names if it exists.
        const known = error?.token
        const tenant = known !== undefined ? (known.tenant ?? FLEET) : named !== undefined && Option.isSome(yield* registry.revision(named)) ? named : undefined
        const origin = originOf(request)
        const key = `${tenant}\u0000${origin}`
        if (tenant === undefined || auditable(key) > 0) {
          if (tenant !== undefined) skipped.set(key, (skipped.get(key) ?? 0) + 1)
          yield* Effect.logInfo("Refused an unauthenticated request").pipe(Effect.annotateLogs(details))
        } else {
          const before = skipped.get(key) ?? 0
          skipped.delete(key)
          if (skipped.size > 10_000) skipped.clear()
          yield* auditLog.record({
            tenant,
            actor: error?.token !== undefined ? `token:${error.token.id}` : "anonymous",
            role: error?.token?.role ?? null,
            action: "auth.failed",
            details: before === 0 ? details : { ...details, notAuditedBefore: before },
            origin
          })
        }
        return yield* new Unauthorized({ message: "A valid bearer token is required" })
      })

    /** The caller may make this many more requests this minute; else a 429 with `Retry-After`. */
    const limited = (key: string) =>
      Effect.gen(function* () {
        const wait = take(key)
        if (wait === 0) return
        yield* HttpApp.appendPreResponseHandler((_, response) => Effect.succeed(HttpServerResponse.setHeader(response, "retry-after", String(wait))))
        return yield* new TooManyRequests({ message: `Rate limit of ${perMinute} requests a minute exceeded`, retryAfterSeconds: wait })
      })

    /** A request with the session cookie and no bearer token: the session, and its CSRF token on a request that changes something. */
    const fromSession = (request: HttpServerRequest.HttpServerRequest, cookie: string) =>
      Effect.gen(function* () {
        const session = yield* (isSessionShaped(cookie) ? sessionVerdicts.get(Redacted.make(cookie)) : sessions.verify(Redacted.make(cookie))).pipe(
          Effect.catchTag("InvalidSession", (e) =>
            Effect.zipRight(
              Effect.logInfo("Refused an ended or unknown session").pipe(Effect.annotateLogs({ ...requestDetails(request), reason: `${e.reason} session` })),
              new Unauthorized({ message: "The session has ended: sign in again" })
            )
          )
        )
        if (request.method !== "GET" && request.method !== "HEAD" && !sameCsrf(session, request.headers[CSRF_HEADER])) {
          return yield* new Forbidden({ message: `A request that changes something needs the session's ${CSRF_HEADER} header` })
        }
        yield* limited(session.actor)
        const { actor, role, tenant, tokenId } = session
        return { tokenId, tenant, role, actor, session, origin: originOf(request) }
      })

    return {
      bearer: (token) =>
        Effect.gen(function* () {
          if (Redacted.value(token) === "") {
            const request = yield* HttpServerRequest.HttpServerRequest
            const cookie = sessionCookieOf(request)
            if (cookie !== undefined && cookie !== "") return yield* fromSession(request, cookie)
            return yield* unauthorized(false, undefined)
          }
          // Only a token of the right shape is looked up (and so kept): a flood of others cannot fill the cache.
          const principal = yield* (isTokenShaped(token) ? verdicts.get(token) : tokens.verify(token)).pipe(
            Effect.catchTag("InvalidToken", (e) => unauthorized(true, e))
          )
          yield* limited(principal.tokenId)
          const request = yield* HttpServerRequest.HttpServerRequest
          return { ...principal, actor: `token:${principal.tokenId}`, origin: originOf(request) }
        })
    }
  })
)

/**
 * Records a refused request in the caller's own tenant (an operator's under `FLEET`): another
 * tenant's resources (404) or a missing right (403). Never the token, the query string or the body.
 */
export const auditDenied = (details: { readonly status: number; readonly reason: string } & Readonly<Record<string, unknown>>) =>
  Effect.gen(function* () {
    const principal = yield* CurrentPrincipal
    const request = yield* HttpServerRequest.HttpServerRequest
    yield* Effect.flatMap(AuditLog, (log) =>
      log.record({
        tenant: principal.tenant ?? FLEET,
        actor: principal.actor,
        role: principal.role,
        action: "auth.denied",
        details: { ...requestDetails(request), ...details },
        origin: principal.origin
      })
    )
  })

/**
 * The caller may act on `tenant` with `permission`: another tenant's resources are a 404 (as if
 * they did not exist), a missing right on one's own tenant a 403. Either is audited, unless the
 * caller audits it itself (`audit: false`, a batch recording its refusals at once).
 */
export const authorize = (tenant: TenantId, permission: Permission, options: { readonly audit?: boolean } = {}) =>
  Effect.gen(function* () {
    const principal = yield* CurrentPrincipal
    const denial =
      principal.tenant !== tenant
        ? { error: new NotFound({ message: "Not found" }), reason: "not the token's tenant" }
        : !can(principal.role, permission)
          ? { error: new Forbidden({ message: `The ${principal.role} role may not ${permission.replace(":", " ")}` }), reason: `role lacks ${permission}` }
          : undefined
    if (denial === undefined) return principal
    if (options.audit !== false) yield* auditDenied({ status: denial.error._tag === "NotFound" ? 404 : 403, reason: denial.reason })
    return yield* denial.error
  })
