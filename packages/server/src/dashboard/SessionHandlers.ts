import { HttpApiBuilder, HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { ApiTokens, AuditLog, can, FLEET, networkOf, type SessionGrant, WebSessions } from "@workcat/tenancy"
import { Effect, Option, Redacted } from "effect"
import { BadRequest, WorkcatApi } from "../Api.js"
import { CurrentPrincipal, Forbidden, SECURE_SESSION_COOKIE, SESSION_COOKIE, securedRequest, Unauthorized } from "../Auth.js"

/**
 * Sets the session cookie: HTTP-only (the page's script never sees it), SameSite=Strict (no other
 * site sends it), for the whole origin, and Secure with the `__Host-` prefix unless the browser
 * reaches the server over plain HTTP on loopback (the demo).
 */
export const setSessionCookie = (request: HttpServerRequest.HttpServerRequest, value: Redacted.Redacted<string>, expires: Date) => {
  const secure = securedRequest(request)
  return HttpApp.appendPreResponseHandler((_, response) =>
    HttpServerResponse.setCookie(response, secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE, Redacted.value(value), {
      httpOnly: true,
      sameSite: "strict",
      path: "/",
      secure,
      expires
    }).pipe(Effect.orDie)
  )
}

/** A session's opening or end, in its tenant's audit log (an operator's under `FLEET`). */
const auditSession = (grant: SessionGrant, action: "session.open" | "session.end", details: Readonly<Record<string, unknown>>, origin: string | null) =>
  Effect.flatMap(AuditLog, (log) => log.record({ tenant: grant.tenant ?? FLEET, actor: grant.actor, role: grant.role, action, details, origin }))

/** Opens a session for the grant and records it in the tenant's audit log; the page's view of it. */
export const openSession = (request: HttpServerRequest.HttpServerRequest, grant: SessionGrant, via: string) =>
  Effect.gen(function* () {
    const session = yield* Effect.flatMap(WebSessions, (s) => s.open(grant))
    const details = { via, session: session.id, expiresAt: session.expiresAt.toISOString() }
    yield* auditSession(grant, "session.open", details, networkOf(Option.getOrUndefined(request.remoteAddress)))
    yield* setSessionCookie(request, session.value, session.expiresAt)
    return { tenant: grant.tenant, role: grant.role, csrf: session.csrf, expiresAt: session.expiresAt }
  })

export const SignInLive = HttpApiBuilder.group(WorkcatApi, "signIn", (handlers) =>
  handlers
    .handle("withLink", ({ payload, request }) =>
      Effect.gen(function* () {
        const grant = yield* Effect.flatMap(WebSessions, (s) => s.redeem(Redacted.make(payload.code))).pipe(
          Effect.catchTag("InvalidSession", () => new Unauthorized({ message: "This sign-in link has been used or has expired: sign in with a token, or ask for a new link" }))
        )
        return yield* openSession(request, grant, "link")
      })
    )
    .handle("withToken", ({ payload, request }) =>
      Effect.gen(function* () {
        const principal = yield* Effect.flatMap(ApiTokens, (t) => t.verify(Redacted.make(payload.token))).pipe(
          Effect.catchTag("InvalidToken", () => new Unauthorized({ message: "That token is not valid: check it, or ask an admin for a new one" }))
        )
        if (!can(principal.role, "metrics:read") && !can(principal.role, "operator:read")) {
          return yield* new Forbidden({ message: `A token of the ${principal.role} role cannot sign in to the dashboard` })
        }
        const grant = { tenant: principal.tenant, role: principal.role, actor: `token:${principal.tokenId}`, tokenId: principal.tokenId }
        return yield* openSession(request, grant, "token")
      })
    )
)

/** The caller's session; a bearer token has none. */
const currentSession = Effect.gen(function* () {
  const principal = yield* CurrentPrincipal
  if (principal.session === undefined) return yield* new BadRequest({ message: "This request carries a bearer token, not a dashboard session" })
  return { principal, session: principal.session }
})

export const SessionLive = HttpApiBuilder.group(WorkcatApi, "session", (handlers) =>
  handlers
    .handle("current", () =>
      Effect.map(currentSession, ({ session }) => ({ tenant: session.tenant, role: session.role, csrf: session.csrf, expiresAt: session.expiresAt }))
    )
    .handle("signOut", () =>
      Effect.gen(function* () {
        const { principal, session } = yield* currentSession
        yield* Effect.flatMap(WebSessions, (s) => s.end(session.sessionId))
        yield* auditSession(session, "session.end", { session: session.sessionId }, principal.origin)
        const request = yield* HttpServerRequest.HttpServerRequest
        const secure = securedRequest(request)
        yield* HttpApp.appendPreResponseHandler((_, response) =>
          HttpServerResponse.expireCookie(response, secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE, { path: "/", secure }).pipe(Effect.orDie)
        )
      })
    )
)
