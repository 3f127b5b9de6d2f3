import { describe, expect, it } from "@effect/vitest"
import { Taxonomy } from "@workcat/core"
import { PipelineLive, Privacy, TenantLayers } from "@workcat/pipeline"
import { freshTenant } from "@workcat/pipeline/testing"
import { ControlSql, CurrentTenant, TenantRegistry } from "@workcat/tenancy"
import { Context, Effect } from "effect"
import { call, oktaLine, serverLayer, token } from "./support.js"

const a = freshTenant("fresh_a")
const b = freshTenant("fresh_b")
const c = freshTenant("fresh_c")

/** The tenant as a run driven by this process's worker would see it. */
const tenantSeenByRuns = (tenant: typeof a) =>
  Effect.flatMap(TenantLayers, (layers) => layers.runtime(tenant)).pipe(
    Effect.map((runtime) => Context.get(runtime.context, CurrentTenant)),
    Effect.scoped
  )

describe("a server's cached tenant", () => {
  it.layer(serverLayer([a, b, c]), { timeout: 120_000 })((it) => {
    it.effect("keeps ingesting after another process rotated the tenant's key, under the new key", () =>
      Effect.gen(function* () {
        const ingest = yield* token(a, "ingest")
        const post = (uuid: string) => call("POST", `/api/v1/tenants/${a}/events/okta`, { token: ingest, text: oktaLine(uuid) })
        expect((yield* post("rot-1")).status).toBe(200)

        // `workcat tenants rotate-key`, with a tenant layer of its own.
        const rotated = yield* Effect.flatMap(Privacy, (p) => p.rotateKey()).pipe(Effect.provide(PipelineLive(a)))
        expect(rotated.keyVersion).toBe(1)

        const after = [yield* post("rot-2"), yield* post("rot-3")]
        expect(after.map((r) => [r.status, r.body])).toEqual([
          [200, { accepted: 1, duplicates: 0, rejected: 0, reasons: {} }],
          [200, { accepted: 1, duplicates: 0, rejected: 0, reasons: {} }]
        ])
        // One person, one pseudonym: the event re-keyed by the rotation and those after it join.
        const sql = yield* ControlSql
        const stored = yield* sql.unsafe<{ events: number; users: number }>(
          `SELECT count(*)::int AS events, count(DISTINCT user_id)::int AS users FROM tenant_${a}.sso_events`
        )
        expect(stored).toEqual([{ events: 3, users: 1 }])
        expect((yield* tenantSeenByRuns(a)).keyVersion).toBe(1)
      }))

    it.effect("gives runs the settings changed after the tenant was opened, by the API or another process", () =>
      Effect.gen(function* () {
        const admin = yield* token(b, "admin")
        expect((yield* tenantSeenByRuns(b)).settings.llm.concurrency).toBe(8)
        const patched = yield* call("PATCH", `/api/v1/tenants/${b}/settings`, { token: admin, json: { llm: { concurrency: 3 } } })
        expect(patched.status).toBe(200)
        expect((yield* tenantSeenByRuns(b)).settings.llm.concurrency).toBe(3)

        // `workcat tenants set`
        const taxonomy = (yield* tenantSeenByRuns(b)).settings.taxonomy
        yield* Effect.flatMap(TenantRegistry, (r) => r.update(b, { taxonomy: Taxonomy.make({ id: taxonomy.id, version: taxonomy.version + 1, categories: taxonomy.categories }) }))
        expect((yield* tenantSeenByRuns(b)).settings.taxonomy.version).toBe(taxonomy.version + 1)
      }))

    it.effect("a tenant removed and created again starts without the runs of the old one", () =>
      Effect.gen(function* () {
        const registry = yield* TenantRegistry
        const sql = yield* ControlSql
        const oldIngest = yield* token(c, "ingest")
        expect((yield* call("POST", `/api/v1/tenants/${c}/events/okta`, { token: oldIngest, text: oktaLine("old-1") })).status).toBe(200)
        const before = yield* call("POST", "/api/v1/pipeline/push", { token: yield* token(c, "admin"), json: { tenant: c, date: "2026-11-20" } })
        expect(before.body).toMatchObject({ state: "PROCESSING" })

        yield* registry.remove(c)
        yield* registry.create(c)
        const [left] = yield* sql<{ runs: number; transitions: number }>`
          SELECT (SELECT count(*)::int FROM runs WHERE tenant = ${c}) AS runs,
                 (SELECT count(*)::int FROM run_transitions WHERE run_id = ${before.body.runId}) AS transitions`
        expect(left).toEqual({ runs: 0, transitions: 0 })

        const admin = yield* token(c, "admin")
        const history = yield* call("GET", `/api/v1/pipeline/history/${c}`, { token: admin })
        expect(history.body).toMatchObject({ items: [], total: 0 })
        // The same key is a new run, admitted at once: no run of the old tenant holds its slot.
        const again = yield* call("POST", "/api/v1/pipeline/push", { token: admin, json: { tenant: c, date: "2026-11-20" } })
        expect(again.status).toBe(202)
        expect(again.body).toMatchObject({ state: "PROCESSING", queuePosition: null })
        expect(again.body.runId).not.toBe(before.body.runId)
        // And the server opens the new tenant, not the old one it had open (a pool as a dropped role).
        const ingest = yield* token(c, "ingest")
        expect((yield* call("POST", `/api/v1/tenants/${c}/events/okta`, { token: ingest, text: oktaLine("new-1") })).status).toBe(200)
      }))
  })
})
