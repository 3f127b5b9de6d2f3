import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { CurrentTenant } from "@workcat/tenancy"
import { Effect } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileValues } from "../src/ingest/Framing.js"
import { Ingest } from "../src/ingest/Ingest.js"
import { freshTenant, testTenantLayer } from "./support/TestLayers.js"

/** The providers' fixtures (written from their published schemas, full of personal data). */
const FIXTURES = join(import.meta.dirname, "../../core/test/fixtures")
const fixtures = ["okta", "gws", "entra"].flatMap((dir) => readdirSync(join(FIXTURES, dir)).map((file) => join(FIXTURES, dir, file)))

/** Keys whose values identify a person in the fixtures, and the e-mail and IP addresses anywhere in them. */
const PERSONAL_KEYS = new Set(["alternateId", "email", "profileId", "userId", "userPrincipalName", "userDisplayName", "ipAddress", "login"])
const personalData = (): Set<string> => {
  const found = new Set<string>()
  const walk = (value: unknown, key: string | undefined, inActor: boolean) => {
    if (typeof value === "string") {
      if (key !== undefined && (PERSONAL_KEYS.has(key) || (inActor && key !== "type" && key !== "callerType"))) found.add(value)
    } else if (Array.isArray(value)) value.forEach((v) => walk(v, key, inActor))
    else if (value !== null && typeof value === "object") {
      // An application (an Okta AppInstance target) is not a person: its names are stored on purpose.
      if ((value as { type?: unknown }).type === "AppInstance") return
      for (const [k, v] of Object.entries(value)) walk(v, k, inActor || k === "actor")
    }
  }
  for (const file of fixtures) {
    const text = readFileSync(file, "utf8")
    for (const m of text.matchAll(/[\w.+-]+@[\w-]+\.[\w.]+|\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){3,7}\b/gi)) found.add(m[0])
    const values = file.endsWith(".ndjson") ? text.split("\n").filter((l) => l.trim() !== "") : [text]
    for (const v of values) {
      try {
        walk(JSON.parse(v), undefined, false)
      } catch {
        // a deliberately broken record: its e-mail and IP addresses were found above
      }
    }
  }
  found.delete("")
  found.delete("unknown") // Okta's placeholder where it has no value
  return found
}

describe("ingest of every provider format", () => {
  it.live("detects each fixture's format, accounts for every record, and stores no personal data anywhere", () =>
    Effect.gen(function* () {
      const ingest = yield* Ingest
      const totals = { accepted: 0, duplicates: 0, rejected: 0 }
      for (const file of fixtures) {
        const counts = yield* ingest.events("auto", fileValues(file), { source: file })
        totals.accepted += counts.accepted
        totals.duplicates += counts.duplicates
        totals.rejected += counts.rejected
      }
      const sql = yield* SqlClient.SqlClient
      const [stored] = yield* sql<{ events: number; letters: number; providers: Array<string>; apps: number }>`
        SELECT (SELECT count(*)::int FROM sso_events) AS events, (SELECT count(*)::int FROM dead_letters) AS letters,
               (SELECT array_agg(DISTINCT provider ORDER BY provider) FROM sso_events) AS providers,
               (SELECT count(*)::int FROM sso_events WHERE app IS NOT NULL) AS apps`
      expect(stored!.providers).toEqual(["entra", "gws", "okta"])
      expect(stored!.events).toBe(totals.accepted)
      expect(stored!.letters).toBe(totals.rejected)
      expect(totals.rejected).toBeGreaterThan(0)
      expect(stored!.apps).toBeGreaterThan(0)

      // Every table of the tenant, every column, as text: no login, name, provider user id or IP address.
      const { schema } = yield* CurrentTenant
      const tables = yield* sql<{ name: string }>`
        SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ${schema} AND table_type = 'BASE TABLE'`
      const dump: Array<string> = []
      for (const { name } of tables) {
        const rows = yield* sql<{ row: string }>`SELECT row_to_json(t)::text AS row FROM ${sql(name)} t`
        dump.push(...rows.map((r) => r.row))
      }
      const text = dump.join("\n").toLowerCase()
      const personal = personalData()
      expect(personal.size).toBeGreaterThan(30)
      const leaked = [...personal].filter((p) => text.includes(p.toLowerCase()))
      expect(leaked).toEqual([])
    }).pipe(Effect.provide(testTenantLayer(freshTenant()))), 60_000)
})
