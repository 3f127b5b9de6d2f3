import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { foldHrEvents, type HrEvent, type IsoDate, mapHrRecord, resolveHrMapping, snapshotEvents, type SnapshotRow, type UserId } from "../src/index.js"

const generic = resolveHrMapping(null)
const map = (record: unknown, mapping = generic) => mapHrRecord(mapping, record)
const right = <A>(e: Either.Either<A, string>): A => Either.getOrThrowWith(e, (reason) => new Error(reason))

describe("HR records through a mapping", () => {
  it("reads workcat's own event records as before", () => {
    const record = right(map({ eventId: "e1", type: "hire", login: "ana@contoso.example", name: "Ana Silva", effectiveDate: "2026-01-05", title: "Engineer" }))
    expect(record).toMatchObject({ kind: "event", eventId: "e1", type: "hire", effectiveDate: "2026-01-05", person: { login: "ana@contoso.example", title: "Engineer" } })
    expect(JSON.stringify(record)).not.toContain("Ana Silva")
  })

  it("reads a BambooHR report row by its documented field names, and its 0000-00-00 as no date", () => {
    const row = {
      id: "123",
      employeeNumber: "1001",
      firstName: "Ana",
      lastName: "Silva",
      workEmail: "ana.silva@contoso.example",
      jobTitle: "Senior Backend Engineer",
      department: "Engineering",
      supervisorEId: "1000",
      hireDate: "2021-03-15",
      terminationDate: "0000-00-00",
      status: "Active"
    }
    expect(right(map(row, resolveHrMapping({ preset: "bamboohr" })))).toEqual({
      kind: "snapshot",
      person: {
        login: "ana.silva@contoso.example",
        employeeId: "1001",
        title: "Senior Backend Engineer",
        department: "Engineering",
        team: null,
        managerLogin: null,
        managerEmployeeId: "1000"
      },
      hireDate: "2021-03-15",
      terminationDate: null,
      status: "active"
    })
  })

  it("reads a Workday report entry: underscored names, 1/0 status, dates with a zone offset", () => {
    const entry = { Employee_ID: "21001", Worker: "Jon Doe", "Email_-_Work": "jon.doe@contoso.example", Business_Title: "Data Engineer", Supervisory_Organization: "Data Platform", Manager_ID: 21000, Hire_Date: "2019-05-01-07:00", Active_Status: "0", Termination_Date: "2026-10-31" }
    expect(right(map(entry, resolveHrMapping({ preset: "workday" })))).toMatchObject({
      kind: "snapshot",
      person: { login: "jon.doe@contoso.example", employeeId: "21001", title: "Data Engineer", department: "Data Platform", managerEmployeeId: "21000" },
      hireDate: "2019-05-01",
      terminationDate: "2026-10-31",
      status: "terminated"
    })
  })

  it("matches column names without case, spaces or punctuation, and takes the tenant's columns over the preset's", () => {
    expect(right(map({ "WORK E-MAIL": "a@b.example", "Job title ": "PM" }))).toMatchObject({ person: { login: "a@b.example", title: "PM" } })
    const mapping = resolveHrMapping({ columns: { login: "SSO Name", title: ["Role Name"] } })
    expect(right(map({ "SSO Name": "jdoe", Email: "private@home.example", "Role Name": "Analyst", title: "ignored" }, mapping))).toMatchObject({
      person: { login: "jdoe", title: "Analyst" }
    })
  })

  it("reads a manager column only when it holds an e-mail address: a name is never kept", () => {
    expect(right(map({ email: "a@b.example", manager: "Maria Gomez" }))).toMatchObject({ person: { managerLogin: null } })
    expect(right(map({ email: "a@b.example", manager: "maria@b.example" }))).toMatchObject({ person: { managerLogin: "maria@b.example" } })
  })

  it("refuses dates with slashes unless the mapping says how to read them", () => {
    expect(map({ email: "a@b.example", hireDate: "03/04/2026" })).toEqual(Either.left('hireDate: a date with slashes or dots needs "dateFormat": "mdy" or "dmy" in the HR mapping'))
    expect(right(map({ email: "a@b.example", hireDate: "03/04/2026" }, resolveHrMapping({ dateFormat: "mdy" })))).toMatchObject({ hireDate: "2026-03-04" })
    expect(right(map({ email: "a@b.example", hireDate: "3.4.2026" }, resolveHrMapping({ dateFormat: "dmy" })))).toMatchObject({ hireDate: "2026-04-03" })
  })

  it("refuses what cannot be stored, naming the field and never quoting the value", () => {
    const refusals = [
      map({ email: "a@b.example", title: "Eng\u0000ineer" }),
      map({ email: "a@b.example", hireDate: "0000-01-01" }),
      map({ email: "a@b.example", hireDate: "2026-02-30" }),
      map({ email: "a@b.example", title: "x".repeat(501) }),
      map({ email: "a@b.example", title: { nested: true } }),
      map({ name: "Ana Silva", title: "Engineer" }),
      map({ email: "a@b.example", status: "On sabbatical in Lisbon" })
    ].map((r) => Either.getLeft(r).pipe((o) => (o._tag === "Some" ? o.value : "accepted")))
    expect(refusals).toEqual([
      "title: contains a NUL character",
      "hireDate: outside 1900-01-01 to 2100-12-31",
      "hireDate: not a calendar date",
      "title: longer than 500 characters",
      "title: expected text, got an object",
      expect.stringMatching(/^login: no value/),
      "status: not a known value (add it to statusValues in the HR mapping)"
    ])
    expect(refusals.join(" ")).not.toMatch(/Lisbon|Ana|Eng/)
  })

  it("takes an employment-type column named Type as part of a snapshot, not as an event type", () => {
    expect(right(map({ email: "a@b.example", Type: "Full-Time" }))).toMatchObject({ kind: "snapshot" })
    expect(map({ email: "a@b.example", eventId: "e9", type: "Full-Time" })).toEqual(Either.left("eventType: not a known event type (add it to eventTypes in the HR mapping)"))
  })
})

describe("snapshot rows", () => {
  const u = "u_00000000000000000000000000000001" as UserId
  const asOf = "2026-12-01" as IsoDate
  let n = 0
  // Ids that sort in the order they are made, as the intake's do.
  const id = () => `s${String(++n).padStart(6, "0")}`
  const row = (fields: Partial<SnapshotRow> = {}): SnapshotRow => ({
    userId: u,
    title: "Engineer",
    department: "Engineering",
    team: "Core",
    managerId: null,
    employeeRef: "e_1",
    hireDate: "2024-02-01" as IsoDate,
    terminationDate: null,
    status: "active",
    ...fields
  })
  const apply = (r: SnapshotRow, stored: ReadonlyArray<HrEvent> = []) => [...stored, ...snapshotEvents(r, stored, asOf, id)]

  it("hire a person never seen on their hire date, and add nothing when the same row comes again", () => {
    const first = apply(row())
    expect(first.map((e) => [e.type, e.effectiveDate, e.title])).toEqual([["hire", "2024-02-01", "Engineer"]])
    expect(snapshotEvents(row(), first, asOf, id)).toEqual([])
  })

  it("change the role on the snapshot's day when title, department or team differ; a field the export lacks is no change", () => {
    const stored = apply(row())
    expect(snapshotEvents(row({ title: "Senior Engineer" }), stored, asOf, id).map((e) => [e.type, e.effectiveDate, e.title])).toEqual([
      ["role_change", "2026-12-01", "Senior Engineer"]
    ])
    expect(snapshotEvents(row({ team: null }), stored, asOf, id)).toEqual([])
  })

  it("terminate on the termination date, once, also when it is still ahead", () => {
    const stored = apply(row())
    const leaving = apply(row({ terminationDate: "2026-12-20" as IsoDate }), stored)
    expect(leaving.slice(stored.length).map((e) => [e.type, e.effectiveDate])).toEqual([["termination", "2026-12-20"]])
    expect(snapshotEvents(row({ terminationDate: "2026-12-20" as IsoDate }), leaving, asOf, id)).toEqual([])
    const gone = apply(row({ status: "terminated", terminationDate: "2026-11-30" as IsoDate }), stored)
    expect(gone.slice(stored.length).map((e) => [e.type, e.effectiveDate])).toEqual([["termination", "2026-11-30"]])
    expect(snapshotEvents(row({ status: "terminated", terminationDate: "2026-11-30" as IsoDate }), gone, asOf, id)).toEqual([])
  })

  it("reach the row's state in one import when a later role change is stored, and add nothing the next time", () => {
    const changed: HrEvent = { eventId: "e2", userId: u, type: "role_change", effectiveDate: "2026-06-01" as IsoDate, title: "Lead", department: null, team: null, managerId: null, employeeRef: null }
    const first = apply(row(), [changed])
    expect(foldHrEvents(u, first, asOf)).toMatchObject({ title: "Engineer", hireDate: "2024-02-01", status: "active" })
    expect(snapshotEvents(row(), first, asOf, id)).toEqual([])
  })

  it("terminate earlier than a termination stored for later, and not again", () => {
    const stored = apply(row({ terminationDate: "2027-03-01" as IsoDate }))
    const early = apply(row({ status: "terminated", terminationDate: "2026-11-30" as IsoDate }), stored)
    expect(foldHrEvents(u, early, asOf)?.status).toBe("terminated")
    expect(snapshotEvents(row({ status: "terminated", terminationDate: "2026-11-30" as IsoDate }), early, asOf, id)).toEqual([])
  })

  it("leave an old employment's termination alone once the person was hired again", () => {
    const rehired = apply(row({ hireDate: "2025-09-01" as IsoDate }), apply(row({ status: "terminated", terminationDate: "2025-06-30" as IsoDate }), apply(row())))
    expect(snapshotEvents(row({ status: "terminated", terminationDate: "2025-06-30" as IsoDate }), rehired, asOf, id)).toEqual([])
    expect(snapshotEvents(row({ status: "terminated", terminationDate: "2024-12-31" as IsoDate }), rehired, asOf, id)).toEqual([])
    expect(foldHrEvents(u, rehired, asOf)?.status).toBe("active")
  })

  it("let a person's later row in the same import only bring them back into employment", () => {
    const stored = apply(row())
    expect(snapshotEvents(row({ title: "Second position" }), stored, asOf, id, true)).toEqual([])
    expect(snapshotEvents(row({ status: "terminated", terminationDate: "2023-01-31" as IsoDate }), stored, asOf, id, true)).toEqual([])
    const gone = apply(row({ status: "terminated", terminationDate: "2026-06-30" as IsoDate }), stored)
    expect(snapshotEvents(row({ hireDate: "2026-09-01" as IsoDate }), gone, asOf, id, true).map((e) => e.type)).toEqual(["hire"])
  })

  it("apply two changes of one day in the order they were imported", () => {
    let events = apply(row())
    for (const title of ["A", "B", "C"]) events = apply(row({ title }), events)
    expect(foldHrEvents(u, events, asOf)?.title).toBe("C")
  })

  it("rehire a terminated person who is active again", () => {
    const gone = apply(row({ status: "terminated", terminationDate: "2025-06-30" as IsoDate }), apply(row()))
    const back = snapshotEvents(row({ hireDate: "2026-09-01" as IsoDate }), gone, asOf, id)
    expect(back.map((e) => [e.type, e.effectiveDate])).toEqual([["hire", "2026-09-01"]])
  })
})
