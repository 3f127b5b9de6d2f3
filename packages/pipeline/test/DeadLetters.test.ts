import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { ControlSql, CurrentTenant, makeLetterBox, MasterKey, sealContext, TenantRegistry, type TenantId } from "@workcat/tenancy"
import { Effect, Layer, Redacted } from "effect"
import { join } from "node:path"
import { DeadLetters } from "../src/ingest/DeadLetters.js"
import { hrInputValues } from "../src/ingest/Csv.js"
import { fileText, fileValues } from "../src/ingest/Framing.js"
import { HrIngest } from "../src/ingest/HrIngest.js"
import { Ingest } from "../src/ingest/Ingest.js"
import { DeadLetterReplay } from "../src/ingest/Replay.js"
import { PipelineLive } from "../src/app/Layers.js"
import { Privacy } from "../src/privacy/Privacy.js"
import { freshTenant, TestRuntime, testTenantLayer } from "./support/TestLayers.js"

const FIXTURES = join(import.meta.dirname, "fixtures/refused")
const fixture = (name: string) => join(FIXTURES, name)

/** Everything personal in the refused fixtures: names, e-mails, IPs, provider user ids, session ids, target ids, cities. */
const PERSONAL = [
  "Greta Lindqvist", "greta.lindqvist", "00u8f3kq2zXyWq1Ab5d7", "198.51.100.23", "Uppsala", "0ua1b2c3d4AppUser99", "102qWeRtYuIoPsEsS1oN",
  "Mateo Ibarra", "mateo.ibarra", "00u9zzTopSecretActor", "2001:db8:4d2::17", "Valparaíso", "102AnotherSessionId7",
  "Noor Haddad", "noor.haddad", "00uTruncatedActor42", "203.0.113.99",
  "Hiroshi Tanaka", "hiroshi.tanaka", "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "192.0.2.141", "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "Osaka",
  "Ana Beatriz Souza", "ana.souza", "10.20.30.40",
  "Olumide Adeyemi", "olumide.adeyemi", "Ingrid", "Bergström", "ingrid.bergstrom", "E-7781", "Ravi Menon", "ravi.menon",
  "Priya", "Raman", "priya.raman", "E-9001", "OBrien-Walsh", "liam.obrien", "Wiśniewska", "zofia.w"
]

/** Every row of every table of the tenant's schema and of the control plane, as text. */
const everything = (tenant: TenantId) =>
  Effect.gen(function* () {
    const control = yield* ControlSql
    const tables = yield* control<{ schema: string; table: string }>`
      SELECT table_schema AS schema, table_name AS table FROM information_schema.tables
      WHERE table_schema IN ('workcat', ${`tenant_${tenant}`}) AND table_type = 'BASE TABLE'`
    const rows = yield* Effect.forEach(tables, ({ schema, table }) => control.unsafe<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM "${schema}"."${table}" t`))
    return rows.flat().map((r) => r.row).join("\n")
  })

const ingestRefused = Effect.gen(function* () {
  const ingest = yield* Ingest
  const hr = yield* HrIngest
  const okta = yield* ingest.events("okta", fileValues(fixture("okta-refused.ndjson")), { source: "okta-refused.ndjson" })
  const entra = yield* ingest.events("entra", fileValues(fixture("entra-refused.ndjson")), { source: "entra-refused.ndjson" })
  const people = yield* hr.records(fileValues(fixture("hr-refused.ndjson")), { source: "hr-refused.ndjson" })
  // A CSV export: a row with an impossible date, a row cut short, a quote never closed.
  const csv = yield* hr.records(hrInputValues(fileText(fixture("hr-refused.csv"))), { source: "hr-refused.csv" })
  return okta.rejected + entra.rejected + people.rejected + csv.rejected
})

const letters = Effect.flatMap(DeadLetters, (d) => d.open({}))

describe("dead letters", () => {
  it.live("keep every refused record whole, and nobody's name, address, id or session readable in any table", () =>
    Effect.gen(function* () {
      expect(yield* ingestRefused).toBe(11)
      const text = yield* everything((yield* CurrentTenant).id)
      expect(text).toContain("sealed")
      for (const value of PERSONAL) expect(text).not.toContain(value)
      // ... and yet nothing is lost: each record opens, as received, for the tenant.
      const records = (yield* letters).map((l) => l.record).join("\n")
      for (const value of PERSONAL) expect(records).toContain(value)
    }).pipe(Effect.provide(testTenantLayer(freshTenant("pii")))), 60_000)

  it.live("are forgotten with the person they name, also when the record is not JSON", () =>
    Effect.gen(function* () {
      yield* ingestRefused
      const before = (yield* letters).length
      const result = yield* Effect.flatMap(Privacy, (p) => p.forget("Ana.Souza@fabrikam.example"))
      expect(result.deleted.dead_letters).toBe(1)
      const left = yield* letters
      expect(left).toHaveLength(before - 1)
      expect(left.map((l) => l.record).join("\n")).not.toContain("ana.souza")
      expect((yield* Effect.flatMap(Privacy, (p) => p.forget("00u8f3kq2zXyWq1Ab5d7"))).deleted.dead_letters).toBe(0)
      expect((yield* Effect.flatMap(Privacy, (p) => p.forget("okta:00uTruncatedActor42"))).deleted.dead_letters).toBe(0)
      expect((yield* Effect.flatMap(Privacy, (p) => p.forget("noor.haddad@fabrikam.example"))).deleted.dead_letters).toBe(1)
    }).pipe(Effect.provide(testTenantLayer(freshTenant("dlforget")))), 60_000)

  it.live("are counted once however often the same record is sent again", () =>
    Effect.gen(function* () {
      yield* ingestRefused
      const before = yield* Effect.flatMap(DeadLetters, (d) => d.counts())
      yield* ingestRefused
      expect(yield* Effect.flatMap(DeadLetters, (d) => d.counts())).toEqual(before)
      expect(before.reduce((n, c) => n + c.count, 0)).toBe(11)
    }).pipe(Effect.provide(testTenantLayer(freshTenant("dlonce")))), 60_000)

  it.live("expire after the tenant's dead-letter retention", () =>
    Effect.gen(function* () {
      yield* ingestRefused
      const sql = yield* SqlClient.SqlClient
      yield* sql`UPDATE dead_letters SET received_at = now() - interval '15 days' WHERE source = 'hr-refused.ndjson'`
      // Past the retention a letter is not shown, nor opened, even before the sweep deletes it.
      expect((yield* letters).map((l) => l.source)).not.toContain("hr-refused.ndjson")
      expect(yield* Effect.flatMap(DeadLetters, (d) => d.expire())).toBe(3)
      expect(yield* sql`SELECT 1 FROM dead_letter_people p LEFT JOIN dead_letters d ON d.id = p.letter_id WHERE d.id IS NULL`).toEqual([])
    }).pipe(Effect.provide(testTenantLayer(freshTenant("dlexpire")))), 60_000)
})

describe("replaying dead letters", () => {
  const tenant = freshTenant("replay")
  const fresh = () => Layer.fresh(PipelineLive(tenant)).pipe(Layer.provideMerge(TestRuntime))

  it.live("sends refused records through again after a fix: the fixed ones are stored and their letters removed, once", () =>
    Effect.gen(function* () {
      yield* ingestRefused
      yield* Effect.flatMap(TenantRegistry, (r) => r.update(tenant, { hrMapping: { statusValues: { active: ["On garden leave"] } } }))
      yield* Effect.gen(function* () {
        const replay = yield* DeadLetterReplay
        const first = yield* replay.replay({ reason: "status: not a known" })
        expect(first).toMatchObject({ letters: 1, accepted: 1, rejected: 0, removed: 1 })
        const sql = yield* SqlClient.SqlClient
        expect(yield* sql`SELECT status FROM employees`).toEqual([{ status: "active" }])
        // Records still refused keep their letter (with today's reason); nothing is stored twice.
        const all = yield* replay.replay({})
        expect(all).toMatchObject({ letters: 10, accepted: 0, rejected: 10, removed: 0 })
        expect((yield* letters).length).toBe(10)
        expect(yield* replay.replay({ reason: "status: not a known" })).toMatchObject({ letters: 0, accepted: 0 })
        // Two replays at once: each finds the records refused again, and neither removes a letter.
        const both = yield* Effect.all([replay.replay({}), replay.replay({})], { concurrency: 2 })
        expect(both.map((r) => r.removed)).toEqual([0, 0])
        expect((yield* letters).length).toBe(10)
      }).pipe(Effect.provide(fresh()))
    }).pipe(Effect.provide(testTenantLayer(tenant))), 60_000)
})

describe("key rotation and dead letters", () => {
  const tenant = freshTenant("dlrotate")
  const fresh = () => Layer.fresh(PipelineLive(tenant)).pipe(Layer.provideMerge(TestRuntime))

  it.live("seals every letter again under the new key: the old key opens none of them", () =>
    Effect.gen(function* () {
      yield* ingestRefused
      const before = (yield* letters).map((l) => l.record).sort()
      yield* Effect.flatMap(Privacy, (p) => p.rotateKey())
      yield* Effect.gen(function* () {
        expect((yield* letters).map((l) => l.record).sort()).toEqual(before)
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ sealed: string; keyVersion: number }>`SELECT sealed, key_version AS "keyVersion" FROM dead_letters`
        expect(new Set(rows.map((r) => r.keyVersion))).toEqual(new Set([1]))
        const record = yield* Effect.flatMap(TenantRegistry, (r) => r.get(tenant))
        const oldKey = yield* Effect.flatMap(MasterKey, (box) => box.open(record.sealedKeys[0]!, sealContext.key(tenant, 0)))
        // The old key, in the new version's place: it opens nothing.
        const oldBox = makeLetterBox(tenant, 1, Redacted.value(oldKey))
        const opened = yield* Effect.exit(oldBox.open(rows[0]!.sealed))
        expect(opened._tag).toBe("Failure")
        // A forget after the rotation still finds the letters naming the person.
        expect((yield* Effect.flatMap(Privacy, (p) => p.forget("ana.souza@fabrikam.example"))).deleted.dead_letters).toBe(1)
      }).pipe(Effect.provide(fresh()))
    }).pipe(Effect.provide(testTenantLayer(tenant))), 60_000)
})
