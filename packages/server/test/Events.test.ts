import { describe, expect, it } from "@effect/vitest"
import { freshTenant } from "@workcat/pipeline/testing"
import { ControlSql } from "@workcat/tenancy"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { call, serverLayer, token } from "./support.js"

const tenant = freshTenant("events")
const fixture = (path: string) => readFileSync(join(import.meta.dirname, "../../core/test/fixtures", path), "utf8")

describe("event intake over HTTP", () => {
  it.layer(serverLayer([tenant]), { timeout: 120_000 })((it) => {
    it.effect("answers Okta's one-time event hook verification, to the tenant's ingest token only", () =>
      Effect.gen(function* () {
        const ingest = yield* token(tenant, "ingest")
        const path = `/api/v1/tenants/${tenant}/events/okta`
        const headers = { "x-okta-verification-challenge": "Ab9-challenge" }
        expect(yield* call("GET", path, { token: ingest, headers })).toMatchObject({ status: 200, body: { verification: "Ab9-challenge" } })
        expect((yield* call("GET", path, { headers })).status).toBe(401)
        expect((yield* call("GET", path, { token: yield* token(tenant, "analyst"), headers })).status).toBe(403)
        expect((yield* call("GET", path, { token: ingest })).status).toBe(400)
      }))

    it.effect("takes each provider's deliveries on its route, detects them on /auto, and refuses another format's records", () =>
      Effect.gen(function* () {
        const ingest = yield* token(tenant, "ingest")
        const post = (format: string, text: string) => call("POST", `/api/v1/tenants/${tenant}/events/${format}`, { token: ingest, text })
        const hook = yield* post("okta", fixture("okta/event-hook.json"))
        const gws = yield* post("gws", fixture("gws/activities-page.json"))
        const entra = yield* post("auto", fixture("entra/signins-page.json"))
        for (const answer of [hook, gws, entra]) expect(answer.status).toBe(200)
        expect(hook.body).toMatchObject({ accepted: 3, duplicates: 0, rejected: 1 })
        expect(gws.body).toMatchObject({ accepted: 4, duplicates: 0, rejected: 1 })
        expect(entra.body).toMatchObject({ accepted: 4, duplicates: 0, rejected: 1 })
        // The same deliveries again: all duplicates; Entra records on the Okta route: all refused.
        expect((yield* post("auto", fixture("okta/event-hook.json"))).body).toMatchObject({ accepted: 0, duplicates: 3, rejected: 1 })
        expect((yield* post("okta", fixture("entra/signins.ndjson"))).body).toMatchObject({ accepted: 0, duplicates: 0 })
        expect((yield* post("xml", "<events/>")).status).toBe(400)

        const sql = yield* ControlSql
        const stored = yield* sql.unsafe<{ provider: string; n: number }>(
          `SELECT provider, count(*)::int AS n FROM tenant_${tenant}.sso_events GROUP BY 1 ORDER BY 1`
        )
        expect(stored).toEqual([
          { provider: "entra", n: 4 },
          { provider: "gws", n: 4 },
          { provider: "okta", n: 3 }
        ])
      }))

    it.effect("takes an HR system's CSV export as it comes, snapshot rows as of the given day, and says why a row was refused", () =>
      Effect.gen(function* () {
        const ingest = yield* token(tenant, "ingest")
        const csv = "Employee ID,Name,Work Email,Job Title,Department,Start Date,Status\r\n" +
          'E1,"Doe, Jane",jane@northwind.example,Engineer,Engineering,2024-01-08,Active\r\n' +
          "E2,Bob Roe,bob@northwind.example,Analyst,Finance,2024-02-01,On sabbatical\r\n"
        const path = `/api/v1/tenants/${tenant}/events/hr?asOf=2026-12-01`
        const answer = yield* call("POST", path, { token: ingest, text: csv, contentType: "text/csv" })
        expect(answer).toMatchObject({
          status: 200,
          body: { accepted: 1, duplicates: 0, rejected: 1, reasons: { "not an HR record: status: not a known value (add it to statusValues in the HR mapping)": 1 } }
        })
        expect((yield* call("POST", path, { token: ingest, text: csv, contentType: "text/csv" })).body).toMatchObject({ accepted: 0, duplicates: 1, rejected: 1 })
        expect((yield* call("POST", `/api/v1/tenants/${tenant}/events/hr?asOf=0000-01-01`, { token: ingest, text: csv })).status).toBe(400)
      }))

    it.effect("counts dead letters by day and reason for the tenant's admin, never showing a record", () =>
      Effect.gen(function* () {
        const path = `/api/v1/tenants/${tenant}/dead-letters`
        const answer = yield* call("GET", path, { token: yield* token(tenant, "admin") })
        expect(answer.status).toBe(200)
        expect(answer.body.total).toBe(answer.body.counts.reduce((n: number, c: { count: number }) => n + c.count, 0))
        expect(answer.body.total).toBeGreaterThanOrEqual(4)
        expect(answer.body.counts[0]).toEqual({ day: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/), reason: expect.any(String), count: expect.any(Number) })
        expect(JSON.stringify(answer.body)).not.toMatch(/@|Doe|Roe/)
        const filtered = yield* call("GET", `${path}?reason=statusValues&since=2026-01-01`, { token: yield* token(tenant, "admin") })
        expect(filtered.body).toMatchObject({ total: 1 })
        expect((yield* call("GET", path, { token: yield* token(tenant, "analyst") })).status).toBe(403)
        expect((yield* call("GET", path, { token: yield* token(tenant, "ingest") })).status).toBe(403)
      }))
  })
})
