import { describe, expect, it } from "@effect/vitest"
import { freshTenant } from "@workcat/pipeline/testing"
import { ApiTokens, ControlSql } from "@workcat/tenancy"
import { Effect, Redacted } from "effect"
import { call, serverLayer, token } from "./support.js"

const a = freshTenant("aud_a")
const b = freshTenant("aud_b")
const c = freshTenant("aud_c")

/** The audit entries of `tenant` after `after` (an id), oldest first. */
const auditOf = (tenant: string, after: number) =>
  Effect.flatMap(ControlSql, (sql) =>
    sql<{ id: number; actor: string; role: string | null; action: string; details: any; origin: string | null }>`
      SELECT id::int AS id, actor, role, action, details, origin FROM audit_log WHERE tenant = ${tenant} AND id > ${after} ORDER BY id`
  )

/** The newest audit id of any tenant, to read only what a test adds. */
const lastId = Effect.flatMap(ControlSql, (sql) => sql<{ id: number }>`SELECT coalesce(max(id), 0)::int AS id FROM audit_log`).pipe(
  Effect.map(([row]) => row!.id)
)

describe("auditing refused requests", () => {
  it.layer(serverLayer([a, b, c]), { timeout: 120_000 })((it) => {
    it.effect("a loop of refused requests does not flood a tenant's audit log: a few are audited, the rest counted", () =>
      Effect.gen(function* () {
        const start = yield* lastId
        for (let i = 0; i < 30; i++) expect((yield* call("GET", `/api/v1/tenants/${c}/categories`, { token: "wct_0123456789_" + "z".repeat(43) })).status).toBe(401)
        const audited = (yield* auditOf(c, start)).length
        expect(audited).toBeGreaterThanOrEqual(5)
        expect(audited).toBeLessThanOrEqual(8)
      }))

    it.effect("a 401 is audited with the token's id when the token is known, on the path's tenant when it is not", () =>
      Effect.gen(function* () {
        const tokens = yield* ApiTokens
        const revoked = yield* tokens.create(a, "analyst")
        yield* tokens.revoke(a, revoked.id)
        const start = yield* lastId
        const path = `/api/v1/tenants/${b}/categories`
        expect((yield* call("GET", `${path}?page=1`, { token: Redacted.value(revoked.token) })).status).toBe(401)
        expect((yield* call("GET", path, { token: `wct_${revoked.id}_${"x".repeat(43)}` })).status).toBe(401)
        expect((yield* call("GET", path, { token: "wct_0123456789_" + "y".repeat(43) })).status).toBe(401)
        expect((yield* call("GET", path)).status).toBe(401)
        // Naming no tenant, or one that does not exist: logged, not audited.
        expect((yield* call("POST", "/api/v1/pipeline/push", { token: "nonsense", json: { tenant: b } })).status).toBe(401)
        expect((yield* call("GET", `/api/v1/tenants/${freshTenant("ghost")}/categories`, { token: "nonsense" })).status).toBe(401)

        const details = { method: "GET", path, status: 401 }
        expect((yield* auditOf(a, start)).map((e) => [e.actor, e.role, e.action, e.details])).toEqual([
          [`token:${revoked.id}`, "analyst", "auth.failed", { ...details, reason: "revoked token" }],
          [`token:${revoked.id}`, "analyst", "auth.failed", { ...details, reason: "wrong secret" }]
        ])
        expect((yield* auditOf(b, start)).map((e) => [e.actor, e.role, e.action, e.details])).toEqual([
          ["anonymous", null, "auth.failed", { ...details, reason: "unknown token" }],
          ["anonymous", null, "auth.failed", { ...details, reason: "no token" }]
        ])
        const sql = yield* ControlSql
        const [{ total }] = (yield* sql<{ total: number }>`SELECT count(*)::int AS total FROM audit_log WHERE id > ${start}`) as any
        expect(total).toBe(4)
        const all = JSON.stringify([...(yield* auditOf(a, start)), ...(yield* auditOf(b, start))])
        expect(all).not.toMatch(/x{43}|y{43}|page=/)
        expect(all).not.toContain(Redacted.value(revoked.token).slice(15))
      }))

    it.effect("a 403, and a 404 for another tenant's path, are audited in the caller's tenant", () =>
      Effect.gen(function* () {
        const analyst = yield* token(a, "analyst")
        const start = yield* lastId
        expect((yield* call("PATCH", `/api/v1/tenants/${a}/settings`, { token: analyst, json: { displayName: "mine" } })).status).toBe(403)
        expect((yield* call("GET", `/api/v1/tenants/${b}/categories?department=x`, { token: analyst })).status).toBe(404)
        const entries = yield* auditOf(a, start)
        expect(entries.map((e) => [e.actor.startsWith("token:"), e.role, e.action, e.details])).toEqual([
          [true, "analyst", "auth.denied", { method: "PATCH", path: `/api/v1/tenants/${a}/settings`, status: 403, reason: "role lacks settings:write" }],
          [true, "analyst", "auth.denied", { method: "GET", path: `/api/v1/tenants/${b}/categories`, status: 404, reason: "not the token's tenant" }]
        ])
        expect(yield* auditOf(b, start)).toEqual([])
      }))

    it.effect("a batch's runs refused for other tenants are audited once, not once per run", () =>
      Effect.gen(function* () {
        const admin = yield* token(a, "admin")
        const start = yield* lastId
        const runs = [b, freshTenant("ghost"), b].map((tenant, i) => ({ tenant, date: `2026-11-0${i + 1}` }))
        const answer = yield* call("POST", "/api/v1/pipeline/batch", { token: admin, json: { runs } })
        expect(answer.body.results.map((r: any) => r.status)).toEqual([404, 404, 404])
        const entries = yield* auditOf(a, start)
        expect(entries.map((e) => [e.action, e.details.status, e.details.refused.length])).toEqual([["auth.denied", 202, 3]])
        expect(yield* auditOf(b, start)).toEqual([])
      }))

    it.effect("reading the audit log is itself audited", () =>
      Effect.gen(function* () {
        const hr = yield* token(a, "hr_admin")
        const start = yield* lastId
        expect((yield* call("GET", `/api/v1/tenants/${a}/audit?limit=5`, { token: hr })).status).toBe(200)
        const entries = yield* auditOf(a, start)
        expect(entries.map((e) => [e.role, e.action, e.details])).toEqual([["hr_admin", "audit.read", { limit: 5, before: null, returned: expect.any(Number) }]])
      }))
  })
})
