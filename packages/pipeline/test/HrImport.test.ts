import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import type { HrMapping, IsoDate } from "@workcat/core"
import { CurrentTenant, TenantRegistry } from "@workcat/tenancy"
import { Effect, Layer, Stream } from "effect"
import { join } from "node:path"
import { hrInputValues } from "../src/ingest/Csv.js"
import { fileText } from "../src/ingest/Framing.js"
import { HrIngest, type HrIngestOptions } from "../src/ingest/HrIngest.js"
import { PipelineLive } from "../src/app/Layers.js"
import { freshTenant, TestRuntime, testTenantLayer } from "./support/TestLayers.js"

const FIXTURES = join(import.meta.dirname, "fixtures/hr")
const asOf = "2026-12-01" as IsoDate

const importFile = (name: string, options: Partial<HrIngestOptions> = {}) =>
  Effect.flatMap(HrIngest, (hr) => hr.records(hrInputValues(fileText(join(FIXTURES, name))), { source: name, asOf, ...options }))

const importText = (text: string, options: Partial<HrIngestOptions> = {}) =>
  Effect.flatMap(HrIngest, (hr) => hr.records(hrInputValues(Stream.make(text)), { source: "inline.csv", asOf, ...options }))

const staff = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql<{ userId: string; title: string | null; department: string | null; team: string | null; managerId: string | null; hireDate: string | null; status: string }>`
    SELECT user_id AS "userId", title, department, team, manager_id AS "managerId", hire_date AS "hireDate", status FROM employees ORDER BY hire_date`
)

describe("HR exports as they come", () => {
  it.live("a generic HRIS CSV export (BOM, CRLF, quoted commas, quotes and line breaks) becomes one employee per row; importing it again adds nothing", () =>
    Effect.gen(function* () {
      expect(yield* importFile("hris-export.csv")).toMatchObject({ accepted: 4, duplicates: 0, rejected: 0 })
      const { pseudonyms } = yield* CurrentTenant
      expect(yield* staff).toEqual([
        { userId: pseudonyms.user("jonas.berg@northwind.example"), title: "Recruiter", department: "People", team: "Talent", managerId: null, hireDate: "2019-04-01", status: "terminated" },
        { userId: pseudonyms.user("chidi.okafor@northwind.example"), title: "Engineer, Platform", department: "Engineering", team: "Infrastructure", managerId: pseudonyms.user("lena.fischer@northwind.example"), hireDate: "2023-02-13", status: "active" },
        { userId: pseudonyms.user("marie.dubois@northwind.example"), title: "Product Designer", department: "Design", team: "Growth\r\n(web, mobile)", managerId: pseudonyms.user("lena.fischer@northwind.example"), hireDate: "2024-07-01", status: "active" },
        { userId: pseudonyms.user("sam.lee@northwind.example"), title: "Support Specialist", department: "Customer Support", team: "Tier 1", managerId: null, hireDate: "2025-11-03", status: "active" }
      ])
      expect(yield* importFile("hris-export.csv")).toMatchObject({ accepted: 0, duplicates: 4, rejected: 0 })
      const sql = yield* SqlClient.SqlClient
      expect(yield* sql`SELECT type, effective_date AS "effectiveDate" FROM hr_events ORDER BY effective_date`).toEqual([
        { type: "hire", effectiveDate: "2019-04-01" },
        { type: "termination", effectiveDate: "2026-06-30" },
        { type: "hire", effectiveDate: "2023-02-13" },
        { type: "hire", effectiveDate: "2024-07-01" },
        { type: "hire", effectiveDate: "2025-11-03" }
      ].sort((a, b) => a.effectiveDate.localeCompare(b.effectiveDate)))
    }).pipe(Effect.provide(testTenantLayer(freshTenant("hrcsv")))), 60_000)

  it.live("a BambooHR report (JSON, its own field names) goes in through the tenant's mapping, managers by employee number", () =>
    Effect.gen(function* () {
      const tenant = yield* CurrentTenant
      yield* Effect.flatMap(TenantRegistry, (r) => r.update(tenant.id, { hrMapping: { preset: "bamboohr" } }))
      yield* Effect.gen(function* () {
        expect(yield* importFile("bamboohr-report.json")).toMatchObject({ accepted: 4, duplicates: 0, rejected: 0 })
        const people = yield* staff
        const tomas = people.find((p) => p.userId === tenant.pseudonyms.user("tomas.reyes@northwind.example"))!
        expect(tomas).toMatchObject({ title: "Senior Backend Engineer", department: "Engineering", hireDate: "2021-03-15", status: "active" })
        // The manager is the keyed hash of Lena's employee number, which her own record carries.
        const sql = yield* SqlClient.SqlClient
        const [lena] = yield* sql<{ ref: string }>`SELECT employee_ref AS ref FROM employees WHERE user_id = ${tenant.pseudonyms.user("lena.fischer@northwind.example")}`
        expect(tomas.managerId).toBe(lena!.ref)
        expect(people.find((p) => p.userId === tenant.pseudonyms.user("piotr.nowak@northwind.example"))!.status).toBe("terminated")
        expect(yield* importFile("bamboohr-report.json")).toMatchObject({ accepted: 0, duplicates: 4, rejected: 0 })
      }).pipe(Effect.provide(Layer.fresh(PipelineLive(tenant.id)).pipe(Layer.provideMerge(TestRuntime))))
    }).pipe(Effect.provide(testTenantLayer(freshTenant("hrbamboo")))), 60_000)

  it.live("a Workday report (Report_Entry, underscored names, dates with an offset) goes in with the workday preset", () =>
    Effect.gen(function* () {
      const mapping: HrMapping = { preset: "workday" }
      expect(yield* importFile("workday-report.json", { mapping })).toMatchObject({ accepted: 3, rejected: 0 })
      const people = yield* staff
      expect(people.map((p) => [p.title, p.hireDate, p.status])).toEqual([
        ["Director, Data Platform", "2016-03-01", "active"],
        ["Data Analyst", "2021-01-04", "terminated"],
        ["Analytics Engineer", "2023-10-16", "active"]
      ])
    }).pipe(Effect.provide(testTenantLayer(freshTenant("hrworkday")))), 60_000)

  it.live("a later snapshot becomes the role changes and terminations that explain it", () =>
    Effect.gen(function* () {
      const header = "Work Email,Job Title,Department,Start Date,Status,Termination Date\n"
      yield* importText(header + "ana@northwind.example,Engineer,Engineering,2024-01-08,Active,\nbo@northwind.example,Analyst,Finance,2024-02-01,Active,\n")
      const later = header + "ana@northwind.example,Staff Engineer,Engineering,2024-01-08,Active,\nbo@northwind.example,Analyst,Finance,2024-02-01,Active,2026-12-31\n"
      expect(yield* importText(later, { asOf: "2026-12-02" as IsoDate })).toMatchObject({ accepted: 2, duplicates: 0 })
      const sql = yield* SqlClient.SqlClient
      expect(yield* sql`SELECT type, effective_date AS "effectiveDate", title FROM hr_events WHERE event_id LIKE 'snapshot:%' AND type <> 'hire' ORDER BY type`).toEqual([
        { type: "role_change", effectiveDate: "2026-12-02", title: "Staff Engineer" },
        { type: "termination", effectiveDate: "2026-12-31", title: "Analyst" }
      ])
      expect(yield* importText(later, { asOf: "2026-12-03" as IsoDate })).toMatchObject({ accepted: 0, duplicates: 2 })
    }).pipe(Effect.provide(testTenantLayer(freshTenant("hrsnap")))), 60_000)

  it.live("a person's later rows in one export (a second position, an old employment) change nothing on the next import", () =>
    Effect.gen(function* () {
      const csv =
        "Work Email,Job Title,Start Date,Status,Termination Date\n" +
        "cy@northwind.example,Analyst,2019-03-01,Terminated,2022-06-30\n" +
        "cy@northwind.example,Staff Analyst,2023-09-01,Active,\n" +
        "cy@northwind.example,Interim Lead,2023-09-01,Active,\n"
      yield* importText(csv)
      expect((yield* staff).map((p) => [p.title, p.hireDate, p.status])).toEqual([["Staff Analyst", "2023-09-01", "active"]])
      expect(yield* importText(csv, { asOf: "2026-12-02" as IsoDate })).toMatchObject({ accepted: 0, duplicates: 3 })
      expect(yield* importText(csv, { asOf: "2026-12-03" as IsoDate })).toMatchObject({ accepted: 0, duplicates: 3 })
    }).pipe(Effect.provide(testTenantLayer(freshTenant("hrrows")))), 60_000)

  it.live("one bad row does not cost its batch: it is a dead letter and the others are stored", () =>
    Effect.gen(function* () {
      const csv = "Work Email,Job Title,Start Date\nok1@northwind.example,Engineer,2024-01-08\nbad@northwind.example,Engineer,2024-02-30\nok2@northwind.example,Designer,2024-03-01\nragged@northwind.example,Engineer\n"
      const counts = yield* importText(csv)
      expect(counts).toMatchObject({ accepted: 2, duplicates: 0, rejected: 2 })
      expect(Object.keys(counts.reasons).sort()).toEqual(["not an HR record: hireDate: not a calendar date", "row has 2 fields, the header has 3"])
    }).pipe(Effect.provide(testTenantLayer(freshTenant("hrbad")))), 60_000)

  it.live("a dry run shows the columns it reads and the rows as they would be stored, and stores nothing", () =>
    Effect.gen(function* () {
      const hr = yield* HrIngest
      const preview = yield* hr.preview(hrInputValues(fileText(join(FIXTURES, "hris-export.csv"))), { source: "hris-export.csv", asOf }, 2)
      expect(preview.columns).toMatchObject({ login: "Work Email", employeeId: "Employee ID", title: "Job Title", team: "Team", managerLogin: "Manager Email", hireDate: "Start Date", status: "Employment Status" })
      expect(preview.records).toHaveLength(2)
      expect(preview.records[0]!.events).toEqual([expect.objectContaining({ type: "hire", effectiveDate: "2023-02-13", title: "Engineer, Platform" })])
      expect(JSON.stringify(preview)).not.toMatch(/chidi|okafor|northwind\.example/i)
      const sql = yield* SqlClient.SqlClient
      expect(yield* sql`SELECT 1 FROM hr_events UNION ALL SELECT 1 FROM employees`).toEqual([])
    }).pipe(Effect.provide(testTenantLayer(freshTenant("hrdry")))), 60_000)
})
