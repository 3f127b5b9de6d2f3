import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { freshTenant } from "@workcat/pipeline/testing"
import { Effect } from "effect"
import { call, serverLayer, token } from "./support.js"

const tenant = freshTenant("hdr")

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store"
}

describe("response headers", () => {
  it.layer(serverLayer([tenant]), { timeout: 120_000 })((it) => {
    it.effect("a 401 says how to authenticate (RFC 6750), and that a token sent was invalid", () =>
      Effect.gen(function* () {
        const path = `/api/v1/tenants/${tenant}/categories`
        const missing = yield* call("GET", path)
        const invalid = yield* call("GET", path, { token: "wct_0123456789_" + "x".repeat(43) })
        expect([missing.status, missing.headers["www-authenticate"]]).toEqual([401, 'Bearer realm="workcat"'])
        expect([invalid.status, invalid.headers["www-authenticate"]]).toEqual([401, 'Bearer realm="workcat", error="invalid_token"'])
        const ok = yield* call("GET", path, { token: yield* token(tenant, "analyst") })
        expect([ok.status, ok.headers["www-authenticate"]]).toEqual([200, undefined])
      }))

    it.effect("every API answer, success or error, carries the security headers and a CSP that loads nothing", () =>
      Effect.gen(function* () {
        const analyst = yield* token(tenant, "analyst")
        for (const answer of [
          yield* call("GET", "/healthz"),
          yield* call("GET", `/api/v1/tenants/${tenant}/metrics/productivity`, { token: analyst }),
          yield* call("GET", `/api/v1/tenants/${tenant}/categories?page=0`, { token: analyst }),
          yield* call("GET", `/api/v1/tenants/${tenant}/categories`),
          yield* call("GET", "/no/such/route"),
          yield* call("GET", "/docs/openapi.json")
        ]) {
          expect(answer.headers).toMatchObject(SECURITY_HEADERS)
          expect(answer.headers["content-security-policy"]).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
          expect(answer.headers["content-type"]).toContain("application/json")
        }
        expect((yield* call("GET", "/no/such/route")).body).toEqual({ _tag: "NotFound", message: "Not found" })
      }))

    it.effect("the Swagger UI page is served with a policy that lets its inline script and style run", () =>
      Effect.gen(function* () {
        const response = yield* Effect.flatMap(HttpClient.HttpClient, (c) => c.get("/docs"))
        const html = yield* response.text
        expect([response.status, response.headers["content-type"]]).toEqual([200, expect.stringContaining("text/html")])
        expect(response.headers).toMatchObject(SECURITY_HEADERS)
        const policy = response.headers["content-security-policy"]!
        expect(policy).toContain("script-src 'unsafe-inline'")
        expect(policy).toContain("style-src 'unsafe-inline'")
        expect(policy).toContain("frame-ancestors 'none'")
        // Everything the page runs is inline (so the policy above covers it): no asset from elsewhere.
        expect(html).toContain("SwaggerUIBundle")
        expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/)
      }).pipe(Effect.scoped))
  })
})
