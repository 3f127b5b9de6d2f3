import { describe, expect, it } from "@effect/vitest"
import { freshTenant } from "@workcat/pipeline/testing"
import { ApiTokens, ControlSql } from "@workcat/tenancy"
import { Effect, Redacted } from "effect"
import { call, seedTenant, serverLayer, token } from "./support.js"


const tenant = freshTenant("ops")
const quiet = freshTenant("ops")

const operatorToken = Effect.flatMap(ApiTokens, (t) => t.create(null, "operator")).pipe(Effect.map((c) => Redacted.value(c.token)))

describe("the operators' view", () => {
  it.layer(serverLayer([tenant, quiet]), { timeout: 120_000 })((it) => {
    it.effect("shows every tenant's run against the SLA, spend, intake and dead letters, and nobody in them", () =>
      Effect.gen(function* () {
        yield* seedTenant(tenant, 60)
        // One refused record, through the API.
        const refused = yield* call("POST", `/api/v1/tenants/${tenant}/events/okta`, { token: yield* token(tenant, "ingest"), text: '{"not": "an event"}\n' })
        expect(refused.body).toMatchObject({ accepted: 0, rejected: 1 })
        const answer = yield* call("GET", "/api/v1/operator/tenants", { token: yield* operatorToken })
        expect(answer.status).toBe(200)
        expect(answer.body.slaHours).toBe(4)
        const seen = answer.body.tenants.find((t: any) => t.tenant === tenant)
        const sql = yield* ControlSql
        const [stored] = yield* sql.unsafe<{ events: number; letters: number }>(
          `SELECT (SELECT count(*)::int FROM tenant_${tenant}.sso_events) AS events, (SELECT count(*)::int FROM tenant_${tenant}.dead_letters) AS letters`
        )
        expect(seen.run).toMatchObject({ state: "READY", sla: "met" })
        expect(seen.run.durationSeconds).toBeGreaterThan(0)
        expect(seen.intake.accepted).toBe(stored!.events)
        expect(seen.intake.rejected).toBeGreaterThanOrEqual(1)
        expect(seen.deadLetters.total).toBe(stored!.letters)
        expect(seen.deadLetters.rate).toBeCloseTo(seen.intake.rejected / (seen.intake.accepted + seen.intake.duplicates + seen.intake.rejected), 9)
        expect(seen.deadLetters.byReason.reduce((n: number, r: any) => n + r.count, 0)).toBe(stored!.letters)
        // The generated events end on a fixed day in the past: the intake lags behind by at least that.
        expect(seen.intake.lagSeconds).toBeGreaterThan(0)
        expect(seen.spend).toEqual({ monthUsd: 0, budgetUsd: 100, budgetUsed: 0 })
        expect(seen.accuracy).toBeNull()
        const idle = answer.body.tenants.find((t: any) => t.tenant === quiet)
        expect(idle).toMatchObject({ run: null, intake: { accepted: 0, lagSeconds: null }, deadLetters: { total: 0, rate: 0 } })
        // No pseudonym, e-mail or employee id (nor anything else of a person) in what it says of the tenant.
        expect(JSON.stringify(seen)).not.toMatch(/\bu_[0-9a-f]{32}\b|\be_[0-9a-f]{8,}|@/)
      }))

    it.effect("gives an operator no tenant's data, and no one else the operators' view", () =>
      Effect.gen(function* () {
        const operator = yield* operatorToken
        for (const path of [`/api/v1/tenants/${tenant}/categories`, `/api/v1/tenants/${tenant}/metrics/productivity`, `/api/v1/tenants/${tenant}/settings`]) {
          expect((yield* call("GET", path, { token: operator })).status).toBe(404)
        }
        for (const role of ["admin", "analyst", "hr_admin"] as const) {
          const refused = yield* call("GET", "/api/v1/operator/tenants", { token: yield* token(tenant, role) })
          expect(refused.status).toBe(403)
        }
      }))

    it.effect("opens an operator's dashboard session, bound to no tenant", () =>
      Effect.gen(function* () {
        const signedIn = yield* call("POST", "/api/v1/session", { json: { token: yield* operatorToken } })
        expect(signedIn.status).toBe(200)
        expect(signedIn.body).toMatchObject({ tenant: null, role: "operator" })
        const cookie = (signedIn.headers["set-cookie"] ?? "").split(";")[0]!
        expect((yield* call("GET", "/api/v1/operator/tenants", { headers: { cookie } })).status).toBe(200)
      }))
  })
})
