import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { addDays, type IsoDate, isoDate } from "@workcat/core"
import { Effect, Stream } from "effect"
import { DeadLetters } from "../src/ingest/DeadLetters.js"
import { HrIngest } from "../src/ingest/HrIngest.js"
import { jsonValues } from "../src/ingest/Framing.js"
import { Ingest } from "../src/ingest/Ingest.js"
import { Employees } from "../src/warehouse/Employees.js"
import { EventStore } from "../src/warehouse/postgres/EventStore.js"
import { TenantRegistry } from "@workcat/tenancy"
import { PipelineLive } from "../src/app/Layers.js"
import { freshTenant, testTenantLayer } from "./support/TestLayers.js"

const sso = (uuid: string, login: string, app: string, at: string, step = 1) =>
  JSON.stringify({
    uuid,
    published: at,
    eventType: "user.authentication.sso",
    actor: { id: `00u${login.length}`, type: "User", alternateId: login, displayName: "Jane Doe" },
    client: { ipAddress: "203.0.113.7", geographicalContext: { country: "Germany" } },
    outcome: { result: "SUCCESS" },
    target: [{ id: "0oa1", type: "AppInstance", alternateId: app, displayName: app }],
    authenticationContext: { authenticationStep: step, externalSessionId: "102sess" }
  })

const lines = [
  sso("e1", "jane@example.com", "GitHub", "2026-11-02T09:00:00Z", 1),
  sso("e2", "jane@example.com", "GitHub", "2026-11-02T10:00:00Z", 2),
  sso("e3", "jane@example.com", "Jira", "2026-11-02T11:00:00Z", 1),
  sso("e4", "JANE@example.com", "GitHub", "2026-11-03T09:00:00Z", 1),
  JSON.stringify({ uuid: "e5", published: "2026-11-03T09:05:00Z", eventType: "user.session.start", actor: { id: "00u9", type: "User", alternateId: "jane@example.com" } }),
  '{"uuid":"bad1","published":"2026-11-03T09:00:00Z","actor":{"alternateId":"jane@example.com"',
  JSON.stringify({ uuid: "bad2", eventType: "user.authentication.sso", actor: { id: "x", type: "User", alternateId: "jane@example.com" } }),
  ""
]

const okta = (input: ReadonlyArray<string>) =>
  Effect.flatMap(Ingest, (ingest) => ingest.events("okta", jsonValues(Stream.make(input.join("\n"))), { source: "test.ndjson", batchSize: 3 }))

const rollup = Effect.zipRight(
  Effect.flatMap(EventStore, (store) => store.settle),
  Effect.flatMap(SqlClient.SqlClient,
  (sql) => sql<{ day: string; app: string; accesses: number; authSteps: number }>`
    SELECT day, app, accesses, auth_steps AS "authSteps" FROM user_app_daily ORDER BY day, app`
  )
)

const deadLetters = Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: number }>`SELECT count(*)::int AS n FROM dead_letters`).pipe(
  Effect.map(([r]) => r!.n)
)

describe("Okta ingest", () => {
  it.effect("stores accepted events, rolls them up per user, day and app, and dead-letters the rest", () =>
    Effect.gen(function* () {
      const counts = yield* okta(lines)
      expect(counts).toMatchObject({ accepted: 5, duplicates: 0, rejected: 2 })
      expect(yield* rollup).toEqual([
        { day: "2026-11-02", app: "github", accesses: 2, authSteps: 3 },
        { day: "2026-11-02", app: "jira", accesses: 1, authSteps: 1 },
        { day: "2026-11-03", app: "github", accesses: 1, authSteps: 1 }
      ])
      const sql = yield* SqlClient.SqlClient
      const letters = yield* sql<{ position: number; reason: string; sealed: string }>`
        SELECT position, reason, sealed FROM dead_letters ORDER BY position`
      expect(letters.map((l) => l.position)).toEqual([6, 7])
      expect(letters[0]!.reason).toMatch(/^invalid JSON/)
      expect(letters[1]!.reason).toMatch(/published/)
      // Kept whole, but sealed: the record opens with the tenant's key only.
      expect(letters.map((l) => l.sealed).join()).not.toContain("jane@example.com")
      const opened = yield* Effect.flatMap(DeadLetters, (d) => d.open({}))
      expect(opened.sort((a, b) => a.position! - b.position!).map((l) => l.record)).toEqual([lines[5], lines[6]])
    }).pipe(Effect.provide(testTenantLayer(freshTenant()))))

  it.effect("is idempotent: re-ingesting the same file adds nothing and counts duplicates", () =>
    Effect.gen(function* () {
      yield* okta(lines)
      const before = yield* rollup
      expect(yield* okta(lines)).toMatchObject({ accepted: 0, duplicates: 5, rejected: 2 })
      expect(yield* rollup).toEqual(before)
      expect(yield* deadLetters).toBe(2)
      // A duplicate inside one batch is stored once too.
      expect(yield* okta([sso("e9", "x@example.com", "Slack", "2026-11-04T09:00:00Z"), sso("e9", "x@example.com", "Slack", "2026-11-04T09:00:00Z")])).toMatchObject({
        accepted: 1,
        duplicates: 1,
        rejected: 0
      })
    }).pipe(Effect.provide(testTenantLayer(freshTenant()))))

  it.effect("stores an event once however concurrent deliveries of it interleave, and counts it once in the rollup", () =>
    Effect.gen(function* () {
      const counts = yield* Effect.all([okta(lines), okta(lines), okta([...lines].reverse())], { concurrency: 3 })
      expect(counts.reduce((n, c) => n + c.accepted, 0)).toBe(5)
      expect(counts.reduce((n, c) => n + c.duplicates, 0)).toBe(10)
      expect(yield* rollup).toEqual([
        { day: "2026-11-02", app: "github", accesses: 2, authSteps: 3 },
        { day: "2026-11-02", app: "jira", accesses: 1, authSteps: 1 },
        { day: "2026-11-03", app: "github", accesses: 1, authSteps: 1 }
      ])
    }).pipe(Effect.provide(testTenantLayer(freshTenant()))))

  it.effect("never stores logins, names or IP addresses, not even in dead letters", () =>
    Effect.gen(function* () {
      yield* okta([
        ...lines,
        "bob@corp.io;10.1.2.3",
        JSON.stringify({ ...JSON.parse(lines[0]!), uuid: "e10", actor: { id: 5, alternateId: "jane@example.com", displayName: { first: "Jane", last: "Doe" } } }),
        JSON.stringify({ ...JSON.parse(lines[0]!), uuid: "e11", client: { ipAddress: ["203.0.113.7"] } })
      ])
      const sql = yield* SqlClient.SqlClient
      const dump = yield* sql<{ row: string }>`
        SELECT row_to_json(e)::text AS row FROM sso_events e
        UNION ALL SELECT row_to_json(d)::text FROM dead_letters d
        UNION ALL SELECT row_to_json(u)::text FROM user_app_daily u`
      const text = dump.map((r) => r.row).join("\n")
      expect(text).toMatch(/u_[0-9a-f]{32}/)
      expect(text.toLowerCase()).not.toMatch(/jane@example\.com|jane doe|"jane"|"doe"|203\.0\.113\.7|bob@|10\.1\.2\.3/)
    }).pipe(Effect.provide(testTenantLayer(freshTenant()))))

  it.effect("keeps the rest of a batch when PostgreSQL refuses a row, and dead-letters that row", () =>
    Effect.gen(function* () {
      // Under the id bound in characters, over the index row PostgreSQL can store in bytes (and not compressible).
      const cjk = Array.from({ length: 1000 }, (_, i) => String.fromCharCode(0x4e00 + ((i * 7919) % 20000))).join("")
      const tooLong = sso(cjk, "jane@example.com", "GitHub", "2026-11-05T09:00:00Z")
      const withNul = sso("n1", "jane@example.com", "GitHub", "2026-11-05T09:00:00Z").replace("Jane Doe", "Jane\\u0000Doe")
      expect(yield* okta([lines[0]!, tooLong, lines[1]!, withNul, lines[2]!])).toMatchObject({ accepted: 3, duplicates: 0, rejected: 2 })
      const sql = yield* SqlClient.SqlClient
      const reasons = yield* sql<{ reason: string }>`SELECT reason FROM dead_letters ORDER BY position`
      expect(reasons.map((r) => r.reason)).toEqual([expect.stringMatching(/^rejected by the database \(SQLSTATE \w+\)$/), expect.stringContaining("NUL")])
      // A raw NUL byte (binary junk) is a dead letter like any other line, not the end of the intake.
      expect(yield* okta([lines[3]!, "\u0000\u0000junk\u0000"])).toMatchObject({ accepted: 1, duplicates: 0, rejected: 1 })
    }).pipe(Effect.provide(testTenantLayer(freshTenant()))))
})

describe("bulk load", () => {
  it.effect("leaves the rollup settled, also for a day it settled while it ran and an event arriving late for that day", () =>
    Effect.gen(function* () {
      // Enough events (in time order, over ten days) for the days behind the intake to be settled as it goes.
      const first = Date.parse(addDays(isoDate(new Date()), -12))
      const n = 120_000
      const at = (i: number) => new Date(first + Math.floor((i / n) * 10 * 86_400_000)).toISOString()
      const apps = ["GitHub", "Jira", "Slack", "Figma", "Notion"]
      const events = Array.from({ length: n }, (_, i) => sso(`b${i}`, `user${i % 7}@example.com`, apps[i % 5]!, at(i)))
      events.push(sso("late", "user0@example.com", "GitHub", at(0)))
      const text = Stream.fromIterable(Array.from({ length: 121 }, (_, k) => events.slice(k * 1000, (k + 1) * 1000).join("\n") + "\n"))
      const counts = yield* Effect.flatMap(Ingest, (ingest) => ingest.events("okta", jsonValues(text), { source: "bulk.ndjson" }))
      expect(counts).toMatchObject({ accepted: n + 1, duplicates: 0, rejected: 0 })
      const sql = yield* SqlClient.SqlClient
      const [state] = yield* sql<{ dirty: number; accesses: number; firstDay: number }>`
        SELECT (SELECT count(*)::int FROM rollup_dirty) AS dirty,
               (SELECT sum(accesses)::int FROM user_app_daily) AS accesses,
               (SELECT sum(accesses)::int FROM user_app_daily WHERE day = ${at(0).slice(0, 10)}::date) AS "firstDay"`
      expect(state).toEqual({ dirty: 0, accesses: n + 1, firstDay: Math.ceil(n / 10) + 1 })
    }).pipe(Effect.provide(testTenantLayer(freshTenant()))), 60_000)
})

describe("raw event retention", () => {
  const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString()
  const partitions = Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ name: string }>`
      SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'sso_events'::regclass ORDER BY 1`
  ).pipe(Effect.map((rows) => rows.map((r) => r.name)))
  const day = (iso: string) => `sso_events_p${iso.slice(0, 10).replaceAll("-", "")}`

  it.live("stores each day in its own partition, refuses events past the retention, and drops days that age out of it", () => {
    const tenant = freshTenant()
    return Effect.gen(function* () {
      const recent = [sso("r1", "ana@example.com", "GitHub", daysAgo(1)), sso("r2", "ana@example.com", "Jira", daysAgo(100))]
      const counts = yield* okta([...recent, sso("r3", "ana@example.com", "Slack", daysAgo(800))])
      expect(counts).toMatchObject({ accepted: 2, duplicates: 0, rejected: 1 })
      // Today's and tomorrow's partitions are made ahead of their first events.
      expect(yield* partitions).toEqual([day(daysAgo(100)), day(daysAgo(1)), day(daysAgo(0)), day(daysAgo(-1))])
      const sql = yield* SqlClient.SqlClient
      const [letter] = yield* sql<{ reason: string; position: number }>`SELECT reason, position FROM dead_letters`
      expect(letter).toEqual({ reason: "older than the tenant's retention of 730 days", position: 3 })

      // The tenant shortens its retention: the next intake drops the days now out of it, rollup included.
      yield* Effect.flatMap(TenantRegistry, (r) => r.update(tenant, { retentionDays: 30 }))
      const again = yield* okta(recent).pipe(Effect.provide(PipelineLive(tenant)))
      expect(again).toMatchObject({ accepted: 0, duplicates: 1, rejected: 1 })
      expect(yield* partitions).toEqual([day(daysAgo(1)), day(daysAgo(0)), day(daysAgo(-1))])
      expect(yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM user_app_daily WHERE day < current_date - 30`).toEqual([{ n: 0 }])
    }).pipe(Effect.provide(testTenantLayer(tenant)))
  })
})

const hr = (records: ReadonlyArray<object | string>, batchSize?: number) =>
  Effect.flatMap(HrIngest, (h) =>
    h.records(jsonValues(Stream.make(records.map((r) => (typeof r === "string" ? r : JSON.stringify(r))).join("\n"))), {
      source: "hr.ndjson",
      ...(batchSize === undefined ? {} : { batchSize })
    })
  )

const employees = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql<{ title: string | null; department: string | null; hireDate: string | null; status: string }>`
    SELECT title, department, hire_date AS "hireDate", status FROM employees ORDER BY hire_date`
)

describe("HR ingest", () => {
  const hire = { eventId: "h1", type: "hire", login: "ana@example.com", name: "Ana Silva", effectiveDate: "2024-03-01", title: "Recruiter", department: "People" }
  const promotion = { eventId: "h2", type: "role_change", login: "ana@example.com", effectiveDate: "2025-06-01", title: "Senior Recruiter" }
  const leave = { eventId: "h3", type: "termination", login: "Ana@Example.com", effectiveDate: "2026-10-31" }

  it.effect("applies events in effective-date order, whatever order they arrive in", () =>
    Effect.gen(function* () {
      expect(yield* hr([promotion, hire])).toMatchObject({ accepted: 2, duplicates: 0, rejected: 0 })
      expect(yield* employees).toEqual([{ title: "Senior Recruiter", department: "People", hireDate: "2024-03-01", status: "active" }])
      expect(yield* hr([leave, hire, { eventId: "h4", type: "sabbatical", login: "x@example.com", effectiveDate: "2026-01-01" }, "not json"])).toMatchObject({
        accepted: 1,
        duplicates: 1,
        rejected: 2
      })
      expect(yield* employees).toEqual([{ title: "Senior Recruiter", department: "People", hireDate: "2024-03-01", status: "terminated" }])
    }).pipe(Effect.provide(testTenantLayer(freshTenant()))))

  it.effect("loses no update when intakes about the same people run at once", () =>
    Effect.gen(function* () {
      const people = Array.from({ length: 40 }, (_, i) => `p${i}@example.com`)
      const hires = people.map((login, i) => ({ eventId: `c-h-${i}`, type: "hire", login, effectiveDate: "2025-01-01", title: "Engineer", department: "Engineering" }))
      const leaves = people.map((login, i) => ({ eventId: `c-t-${i}`, type: "termination", login, effectiveDate: "2026-01-01" }))
      yield* Effect.all([hr(hires, 3), hr(leaves, 3)], { concurrency: 2 })
      const sql = yield* SqlClient.SqlClient
      const states = yield* sql<{ status: string; title: string; n: number }>`
        SELECT status, title, count(*)::int AS n FROM employees GROUP BY 1, 2`
      expect(states).toEqual([{ status: "terminated", title: "Engineer", n: 40 }])
    }).pipe(Effect.provide(testTenantLayer(freshTenant()))))

  it.effect("applies a future-dated event on its date, not before", () =>
    Effect.gen(function* () {
      const tomorrow = addDays(isoDate(new Date()), 1)
      yield* hr([hire, { ...leave, effectiveDate: tomorrow }])
      expect((yield* employees)[0]!.status).toBe("active")
      const staff = yield* Effect.flatMap(Employees, (e) => e.asOf(tomorrow))
      expect([...staff.values()].map((e) => e.status)).toEqual(["terminated"])
      const before = yield* Effect.flatMap(Employees, (e) => e.asOf("2024-02-01" as IsoDate))
      expect(before.size).toBe(0)
    }).pipe(Effect.provide(testTenantLayer(freshTenant()))))

  it.effect("rejects impossible dates and drops names", () =>
    Effect.gen(function* () {
      expect(yield* hr([{ ...hire, eventId: "h9", effectiveDate: "2026-02-30" }])).toMatchObject({ accepted: 0, duplicates: 0, rejected: 1 })
      yield* hr([hire])
      const sql = yield* SqlClient.SqlClient
      const dump = yield* sql<{ row: string }>`
        SELECT row_to_json(h)::text AS row FROM hr_events h UNION ALL SELECT row_to_json(e)::text FROM employees e
        UNION ALL SELECT row_to_json(d)::text FROM dead_letters d`
      expect(dump.map((r) => r.row).join()).not.toMatch(/Ana Silva|ana@example\.com/i)
    }).pipe(Effect.provide(testTenantLayer(freshTenant()))))
})
