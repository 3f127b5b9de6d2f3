import { describe, expect, it } from "@effect/vitest"
import { freshTenant } from "@workcat/pipeline/testing"
import { ApiTokens, ControlSql } from "@workcat/tenancy"
import { Duration, Effect, Redacted, TestClock } from "effect"
import { type Answer, call, oktaLine, seedTenant, serverLayer, token } from "./support.js"

const a = freshTenant("sec_a")
const b = freshTenant("sec_b")

const event = oktaLine("sec-1")

/** A plausible request body for each endpoint that takes one, aimed at tenant `target`. */
const bodyFor = (method: string, path: string, target: string): { json?: unknown; text?: string; headers?: Record<string, string> } => {
  if (path.endsWith("/events/okta") && method === "get") return { headers: { "x-okta-verification-challenge": "challenge" } }
  if (path.endsWith("/pipeline/push")) return { json: { tenant: target, date: "2026-11-20" } }
  if (path.endsWith("/pipeline/batch")) return { json: { runs: [{ tenant: target, date: "2026-11-21" }] } }
  if (path.endsWith("/settings") && method === "patch") return { json: { displayName: "taken over" } }
  if (path.endsWith("/privacy/forget")) return { json: { login: "someone@example.com" } }
  if (path.endsWith("/events/okta")) return { text: event }
  if (path.endsWith("/events/hr")) return { text: JSON.stringify({ eventId: "x", type: "hire", login: "m@example.com", effectiveDate: "2026-01-01" }) }
  return {}
}

/** Everything of a tenant an attacker might read or change, as its admin sees it. */
const snapshot = (tenant: string) =>
  Effect.gen(function* () {
    const sql = yield* ControlSql
    const [state] = yield* sql<{ settings: unknown; audit: number; tokens: number }>`
      SELECT settings, (SELECT count(*)::int FROM audit_log WHERE tenant = ${tenant}) AS audit,
             (SELECT count(*)::int FROM api_tokens WHERE tenant = ${tenant}) AS tokens
      FROM tenants WHERE id = ${tenant}`
    const [runs] = yield* sql<{ runs: unknown }>`
      SELECT json_agg(json_build_object('id', id, 'state', state, 'key', run_key) ORDER BY id) AS runs FROM runs WHERE tenant = ${tenant}`
    const data = yield* sql.unsafe<{ events: number; categories: number; employees: number }>(
      `SELECT (SELECT count(*)::int FROM tenant_${tenant}.sso_events) AS events,
              (SELECT count(*)::int FROM tenant_${tenant}.work_categories) AS categories,
              (SELECT count(*)::int FROM tenant_${tenant}.employees) AS employees`
    )
    return { ...state, ...data[0], runs: runs?.runs }
  })

describe("access control", () => {
  it.layer(serverLayer([a]), { timeout: 120_000 })((it) => {
    it.effect("a token of tenant A gets nothing of tenant B, on every endpoint of the OpenAPI document", () =>
      Effect.gen(function* () {
        const { runId } = yield* seedTenant(b, 40)
        const before = yield* snapshot(b)
        const spec = (yield* call("GET", "/docs/openapi.json")).body
        const tokensOfA = yield* Effect.forEach(["admin", "analyst", "ingest", "hr_admin"] as const, (role) => token(a, role))
        const answers: Array<[string, Answer]> = []
        for (const [template, operations] of Object.entries<Record<string, unknown>>(spec.paths)) {
          // No tenant in these paths: health, the dashboard session of the caller's own token or
          // cookie (Sessions.test.ts), and the operators' view (Operator.test.ts: 403 for tenant tokens).
          if (template === "/healthz" || template.startsWith("/api/v1/session") || template.startsWith("/api/v1/operator")) continue
          for (const method of Object.keys(operations)) {
            for (const t of tokensOfA) {
              const path = template.replace("{tenant}", b).replace("{runId}", runId).replace("{format}", "okta")
              const answer = yield* call(method.toUpperCase() as "GET", path, { token: t, ...bodyFor(method, path, b) })
              answers.push([`${method} ${template}`, answer])
            }
          }
        }
        expect(answers.length).toBeGreaterThanOrEqual(14 * 4)
        for (const [what, answer] of answers) {
          if (what === "post /api/v1/pipeline/batch") {
            // A batch answers per run: the run for B is refused as unknown.
            expect(answer.status).toBe(202)
            expect(answer.body.results.map((r: any) => r.status)).toEqual([404])
            continue
          }
          expect({ what, status: answer.status, body: answer.status === 404 ? null : answer.body }).toEqual({ what, status: 404, body: null })
          expect(JSON.stringify(answer.body)).not.toContain(b)
        }
        expect(yield* snapshot(b)).toEqual(before)
        // And an unknown tenant looks exactly the same.
        const unknown = yield* call("GET", `/api/v1/tenants/${freshTenant("nobody")}/categories`, { token: tokensOfA[1]! })
        expect(unknown).toMatchObject({ status: 404, body: answers[0]![1].body })
      }))

    it.effect("401 without a valid token, 403 for a role without the right", () =>
      Effect.gen(function* () {
        const path = `/api/v1/tenants/${a}/categories`
        expect((yield* call("GET", path)).status).toBe(401)
        expect((yield* call("GET", path, { token: "wct_0123456789_" + "x".repeat(43) })).status).toBe(401)
        expect((yield* call("GET", path, { token: "not a token" })).status).toBe(401)

        const tokens = yield* ApiTokens
        const revoked = yield* tokens.create(a, "analyst")
        expect((yield* call("GET", path, { token: Redacted.value(revoked.token) })).status).toBe(200)
        const expired = yield* tokens.create(a, "analyst", { expiresIn: Duration.hours(1) })
        expect((yield* call("GET", path, { token: Redacted.value(expired.token) })).status).toBe(200)
        // Revoked, or expired, by another process (here, behind the server's back): refused within a second (the tests' clock).
        yield* tokens.revoke(a, revoked.id)
        const sql = yield* ControlSql
        yield* sql`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = ${expired.id}`
        yield* TestClock.adjust("1100 millis")
        expect((yield* call("GET", path, { token: Redacted.value(revoked.token) })).status).toBe(401)
        expect((yield* call("GET", path, { token: Redacted.value(expired.token) })).status).toBe(401)

        const ingest = yield* token(a, "ingest")
        expect((yield* call("GET", path, { token: ingest })).status).toBe(403)
        expect((yield* call("POST", `/api/v1/tenants/${a}/events/okta`, { token: ingest, text: event })).body).toMatchObject({
          accepted: 1,
          duplicates: 0,
          rejected: 0
        })
        const analyst = yield* token(a, "analyst")
        expect((yield* call("PATCH", `/api/v1/tenants/${a}/settings`, { token: analyst, json: { minGroupSize: 1 } })).status).toBe(403)
        expect((yield* call("GET", `/api/v1/tenants/${a}/audit`, { token: analyst })).status).toBe(403)
        expect((yield* call("POST", `/api/v1/tenants/${a}/privacy/forget`, { token: analyst, json: { login: "x@example.com" } })).status).toBe(403)
      }))

    it.effect("stores tokens hashed", () =>
      Effect.gen(function* () {
        const created = yield* Effect.flatMap(ApiTokens, (t) => t.create(a, "analyst"))
        const sql = yield* ControlSql
        const rows = yield* sql<{ row: string }>`SELECT row_to_json(t)::text AS row FROM api_tokens t WHERE id = ${created.id}`
        const secret = Redacted.value(created.token).slice("wct_".length + 11)
        expect(secret).toHaveLength(43)
        expect(rows[0]!.row).not.toContain(secret)
      }))

    it.effect("audits reads of per-person data and privacy actions, append-only, for hr_admin", () =>
      Effect.gen(function* () {
        const analyst = yield* token(a, "analyst")
        const hr = yield* token(a, "hr_admin")
        const ingest = yield* token(a, "ingest")
        const trudy = event.replace("sec-1", "sec-2").replaceAll("mallory", "trudy")
        yield* call("POST", `/api/v1/tenants/${a}/events/okta`, { token: ingest, text: trudy })
        yield* call("GET", `/api/v1/tenants/${a}/categories?department=Sales`, { token: analyst })
        const forget = yield* call("POST", `/api/v1/tenants/${a}/privacy/forget`, { token: hr, json: { login: "trudy@example.com" } })
        expect(forget.status).toBe(200)
        expect(forget.body.deleted.sso_events).toBe(1)
        const log = yield* call("GET", `/api/v1/tenants/${a}/audit?limit=10`, { token: hr })
        expect(log.status).toBe(200)
        const actions = log.body.items.map((i: any) => i.action)
        expect(actions.slice(0, 2)).toEqual(["privacy.forget", "categories.read"])
        const read = log.body.items[1]
        expect(read).toMatchObject({ role: "analyst", details: { department: "Sales" } })
        expect(read.actor).toMatch(/^token:[0-9a-f]{10}$/)
        expect(read.origin).toMatch(/\/(24|48)$/)
        expect(JSON.stringify(log.body)).not.toMatch(/trudy|u_[0-9a-f]{32}/i)
        const sql = yield* ControlSql
        const tamper = yield* sql`UPDATE audit_log SET action = 'nothing' WHERE tenant = ${a}`.pipe(Effect.flip)
        expect(String(tamper.cause)).toContain("append-only")
        const erase = yield* sql`DELETE FROM audit_log WHERE tenant = ${a}`.pipe(Effect.flip)
        expect(String(erase.cause)).toContain("append-only")
      }))
  })
})
