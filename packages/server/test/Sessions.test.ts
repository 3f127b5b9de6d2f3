import { describe, expect, it } from "@effect/vitest"
import { freshTenant } from "@workcat/pipeline/testing"
import { ApiTokens, ControlSql, WebSessions } from "@workcat/tenancy"
import { Effect, Redacted, TestClock } from "effect"
import { call, serverLayer, token } from "./support.js"

const tenant = freshTenant("sess")
const other = freshTenant("sess")

/** The session cookie a response sets, as `name=value` for the next request's `Cookie`, and its attributes. */
const sessionCookie = (headers: Readonly<Record<string, string>>) => {
  const set = headers["set-cookie"] ?? ""
  const [pair = "", ...attributes] = set.split(";").map((p) => p.trim())
  return { cookie: pair, attributes: attributes.map((a) => a.toLowerCase()) }
}

const signIn = (bearer: string) =>
  Effect.gen(function* () {
    const answer = yield* call("POST", "/api/v1/session", { json: { token: bearer } })
    expect(answer.status).toBe(200)
    return { ...sessionCookie(answer.headers), view: answer.body }
  })

describe("Dashboard sessions", () => {
  it.layer(serverLayer([tenant, other]), { timeout: 60_000 })((it) => {
    it.effect("trades an analyst token for an HTTP-only, SameSite=Strict session cookie that reads the tenant's metrics", () =>
      Effect.gen(function* () {
        const { attributes, cookie, view } = yield* signIn(yield* token(tenant, "analyst"))
        expect(cookie).toMatch(/^workcat_session=wcs_[0-9a-f]{16}_/)
        expect(attributes).toEqual(expect.arrayContaining(["httponly", "samesite=strict", "path=/"]))
        expect(view).toMatchObject({ tenant, role: "analyst" })
        expect(view.csrf).toMatch(/^[0-9A-Za-z_-]{43}$/)
        // The body names no secret of the cookie's.
        expect(JSON.stringify(view)).not.toContain(cookie.split("_").at(-1))
        const current = yield* call("GET", "/api/v1/session", { headers: { cookie } })
        expect(current.body).toMatchObject({ tenant, role: "analyst", csrf: view.csrf })
        expect((yield* call("GET", `/api/v1/tenants/${tenant}/metrics/productivity`, { headers: { cookie } })).status).toBe(200)
        // Another tenant's numbers stay out of reach, as with the token.
        expect((yield* call("GET", `/api/v1/tenants/${other}/metrics/productivity`, { headers: { cookie } })).status).toBe(404)
      }))

    it.effect("behind HTTPS, sets a Secure __Host- cookie, reads it back, and asks for HTTPS from then on", () =>
      Effect.gen(function* () {
        const https = { "x-forwarded-proto": "https" }
        const answer = yield* call("POST", "/api/v1/session", { json: { token: yield* token(tenant, "analyst") }, headers: https })
        const { attributes, cookie } = sessionCookie(answer.headers)
        expect(cookie).toMatch(/^__Host-workcat_session=wcs_/)
        expect(attributes).toEqual(expect.arrayContaining(["secure", "httponly", "samesite=strict", "path=/"]))
        expect(attributes.some((a) => a.startsWith("domain="))).toBe(false)
        expect(answer.headers["strict-transport-security"]).toBe("max-age=31536000")
        expect((yield* call("GET", "/api/v1/session", { headers: { ...https, cookie } })).body).toMatchObject({ tenant, role: "analyst" })
      }))

    it.effect("refuses a request that changes something without the session's CSRF token", () =>
      Effect.gen(function* () {
        const { cookie, view } = yield* signIn(yield* token(tenant, "admin"))
        const forged = yield* call("PATCH", `/api/v1/tenants/${tenant}/settings`, { headers: { cookie }, json: { minGroupSize: 7 } })
        expect(forged.status).toBe(403)
        expect(forged.body.message).toMatch(/x-csrf-token/)
        const wrong = yield* call("POST", "/api/v1/session/sign-out", { headers: { cookie, "x-csrf-token": "x".repeat(43) } })
        expect(wrong.status).toBe(403)
        const patched = yield* call("PATCH", `/api/v1/tenants/${tenant}/settings`, { headers: { cookie, "x-csrf-token": view.csrf }, json: { minGroupSize: 6 } })
        expect(patched.status).toBe(200)
        // Recorded as the token that opened the session.
        const sql = yield* ControlSql
        const rows = yield* sql<{ actor: string }>`SELECT actor FROM audit_log WHERE tenant = ${tenant} AND action = 'tenant.settings.update' ORDER BY id DESC LIMIT 1`
        expect(rows[0]!.actor).toMatch(/^token:[0-9a-f]{10}$/)
      }))

    it.effect("signs out: the cookie is cleared and the session refused within a second", () =>
      Effect.gen(function* () {
        const { cookie, view } = yield* signIn(yield* token(tenant, "analyst"))
        const out = yield* call("POST", "/api/v1/session/sign-out", { headers: { cookie, "x-csrf-token": view.csrf } })
        expect(out.status).toBe(204)
        expect(out.headers["set-cookie"]).toMatch(/^workcat_session=;.*(Max-Age=0|Expires=Thu, 01 Jan 1970)/i)
        yield* TestClock.adjust("1100 millis")
        expect((yield* call("GET", "/api/v1/session", { headers: { cookie } })).status).toBe(401)
      }))

    it.effect("ends a session when the token it was opened with is revoked", () =>
      Effect.gen(function* () {
        const created = yield* Effect.flatMap(ApiTokens, (t) => t.create(tenant, "analyst"))
        const { cookie } = yield* signIn(Redacted.value(created.token))
        yield* Effect.flatMap(ApiTokens, (t) => t.revoke(tenant, created.id))
        yield* TestClock.adjust("1100 millis")
        expect((yield* call("GET", `/api/v1/tenants/${tenant}/metrics/productivity`, { headers: { cookie } })).status).toBe(401)
      }))

    it.effect("lets no ingest token, and no invalid one, sign in", () =>
      Effect.gen(function* () {
        const ingest = yield* call("POST", "/api/v1/session", { json: { token: yield* token(tenant, "ingest") } })
        expect(ingest.status).toBe(403)
        expect(ingest.headers["set-cookie"]).toBeUndefined()
        const invalid = yield* call("POST", "/api/v1/session", { json: { token: "wct_0000000000_" + "a".repeat(43) } })
        expect(invalid.status).toBe(401)
        expect(invalid.headers["set-cookie"]).toBeUndefined()
      }))

    it.effect("redeems a sign-in link once, when the page asks, for a session cookie", () =>
      Effect.gen(function* () {
        const created = yield* Effect.flatMap(ApiTokens, (t) => t.create(tenant, "analyst"))
        const { code } = yield* Effect.flatMap(WebSessions, (s) => s.link({ tenant, role: "analyst", actor: `token:${created.id}`, tokenId: created.id }))
        // Opening the link (as a mail service previewing it would) spends nothing.
        const opened = yield* call("GET", `/signin?code=${encodeURIComponent(Redacted.value(code))}`)
        expect(opened.status).toBe(200)
        expect(opened.headers["set-cookie"]).toBeUndefined()
        const first = yield* call("POST", "/api/v1/session/link", { json: { code: Redacted.value(code) } })
        expect(first.status).toBe(200)
        expect(first.body).toMatchObject({ tenant, role: "analyst" })
        const { cookie } = sessionCookie(first.headers)
        expect((yield* call("GET", "/api/v1/session", { headers: { cookie } })).body).toMatchObject({ tenant, role: "analyst" })
        const again = yield* call("POST", "/api/v1/session/link", { json: { code: Redacted.value(code) } })
        expect(again.status).toBe(401)
        expect(again.headers["set-cookie"]).toBeUndefined()
      }).pipe(Effect.provide(WebSessions.Default)))

    it.effect("leaves who may sign in through the identity provider to the operator, not to the tenant's admin", () =>
      Effect.gen(function* () {
        const admin = yield* token(tenant, "admin")
        const oidc = { issuer: "https://evil.example.com", clientId: "x", roles: [{ group: "everyone", role: "hr_admin" }] }
        const refused = yield* call("PATCH", `/api/v1/tenants/${tenant}/settings`, { token: admin, json: { oidc } })
        expect(refused.status).toBe(400)
        expect(refused.body.message).toMatch(/workcat tenants sign-in/)
        expect((yield* call("GET", `/api/v1/tenants/${tenant}/settings`, { token: admin })).body.oidc).toBeNull()
      }))
  })
})
