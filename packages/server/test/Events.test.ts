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
        expect(hook.body).toEqual({ accepted: 3, duplicates: 0, rejected: 1 })
        expect(gws.body).toEqual({ accepted: 4, duplicates: 0, rejected: 1 })
        expect(entra.body).toEqual({ accepted: 4, duplicates: 0, rejected: 1 })
        // The same deliveries again: all duplicates; Entra records on the Okta route: all refused.
        expect((yield* post("auto", fixture("okta/event-hook.json"))).body).toEqual({ accepted: 0, duplicates: 3, rejected: 1 })
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
  })
})
