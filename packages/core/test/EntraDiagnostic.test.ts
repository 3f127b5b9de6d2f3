import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { readFileSync } from "node:fs"
import { type AccessEvent, DefaultAppCatalog, decodeValue, type DecodedRecord, detectFormat, makePseudonyms } from "../src/index.js"

const pseudonyms = makePseudonyms([new Uint8Array(32).fill(3)])
const user = (login: string) => pseudonyms.user(login)

const fixture = (path: string) => readFileSync(new URL(`./fixtures/entra/${path}`, import.meta.url), "utf8")
/** An Event Hubs message body: `{"records": [...]}`. */
const message = JSON.parse(fixture("diagnostic-eventhub.json")) as { records: Array<Record<string, unknown>> }
/** A storage account blob (PT1H.json): one record per line. */
const blobLines = fixture("diagnostic-blob.ndjson").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>)

const decode = (json: unknown) => decodeValue("entra", json, DefaultAppCatalog, pseudonyms)
const accepted = (results: ReadonlyArray<DecodedRecord>): Array<AccessEvent> => results.filter(Either.isRight).map((r) => r.right)
const reasons = (results: ReadonlyArray<DecodedRecord>): Array<string> => results.filter(Either.isLeft).map((r) => r.left)
const fromMessage = decode(message)
const fromBlob = blobLines.flatMap(decode)

describe("Entra diagnostic records in an Event Hubs message", () => {
  it("counts successful interactive sign-ins and AD FS sign-ins into apps as accesses", () => {
    expect(accepted(fromMessage).filter((e) => e.app !== null).map(({ app, authSteps, eventType, userId }) => ({ eventType, app, userId, authSteps }))).toEqual([
      { eventType: "signIn.interactive", app: "salesforce", userId: user("maria.gonzalez@northwind-traders.com"), authSteps: 1 },
      { eventType: "signIn.interactive", app: "miro", userId: user("jane.roe@contoso.example"), authSteps: 2 },
      { eventType: "signIn.adfs", app: "contoso_intranet", userId: user("ana.silva@contoso.example"), authSteps: 1 }
    ])
  })

  it("keeps failures and token refreshes as raw events, and workload sign-ins without a user", () => {
    expect(accepted(fromMessage).filter((e) => e.app === null).map(({ appName, eventType, outcome, userId }) => [eventType, appName, outcome, userId])).toEqual([
      ["signIn.interactive", "Workday", "FAILURE", user("john.doe@contoso.example")],
      ["signIn.nonInteractive", "Microsoft Teams", "SUCCESS", user("jane.roe@contoso.example")],
      ["signIn.servicePrincipal", "Contoso Billing Sync", "SUCCESS", null],
      ["signIn.managedIdentity", "fn-contoso-invoices", "SUCCESS", null]
    ])
  })

  it("refuses a record of another category, naming the category and where it sits", () => {
    expect(reasons(fromMessage)).toEqual(["records[7]: not a sign-in log category: AuditLogs"])
  })

  it("names only categories Entra documents, so a stray value is never quoted", () => {
    const [record] = message.records
    expect(decode({ ...record, category: "jane.roe@contoso.example" })).toEqual([Either.left("not a sign-in log category: (an unrecognized category)")])
    expect(decode({ ...record, category: "riskyusers" })).toEqual([Either.left("not a sign-in log category: RiskyUsers")])
  })

  it("stores a sign-in streamed through diagnostic settings under its Graph id, exactly as read from Graph", () => {
    const graph = JSON.parse(fixture("signins.ndjson").split("\n")[0]!) as unknown
    const [streamed] = accepted(fromMessage)
    expect(streamed!.eventId).toBe("66ea54eb-6301-4ee5-be62-ff5a759b0100")
    expect(streamed).toEqual(accepted(decode(graph))[0])
  })

  it("reads the records of a JSON array and a single record alike", () => {
    const ids = accepted(fromMessage).map((e) => e.eventId)
    expect(accepted(decode(message.records)).map((e) => e.eventId)).toEqual(ids)
    expect(accepted(message.records.flatMap(decode)).map((e) => e.eventId)).toEqual(ids)
    expect(reasons(decode(message.records))).toEqual(["[7]: not a sign-in log category: AuditLogs"])
  })

  it("refuses a message whose records is not an array", () => {
    expect(decode({ records: { category: "SignInLogs" } })).toEqual([Either.left("not an Entra diagnostic log message: records: Expected an array")])
  })

  it("never reads the envelope's identity or caller IP, nor the user's display name or IP address", () => {
    const scrubbed = message.records.map((r) => ({
      ...r,
      identity: "Someone Else",
      callerIpAddress: "192.0.2.1",
      properties: { ...(r.properties as object), userDisplayName: "Someone Else", ipAddress: "192.0.2.1" }
    }))
    expect(decode({ records: scrubbed })).toEqual(fromMessage)
    expect(JSON.stringify(accepted(fromMessage))).not.toMatch(/Jane Roe|John Doe|Ana Silva|198\.51\.100\.23|10\.20\.30\.40/)
  })
})

describe("Entra diagnostic records in a storage blob", () => {
  it("reads flags and error codes that the export wrote as strings", () => {
    const [kenji] = accepted(fromBlob)
    expect(kenji).toMatchObject({ eventType: "signIn.interactive", app: "slack", outcome: "SUCCESS", authSteps: 1 })
    const refresh = accepted(fromBlob).find((e) => e.appName === "Microsoft Outlook")
    expect(refresh).toMatchObject({ eventType: "signIn.nonInteractive", app: null, outcome: "SUCCESS" })
  })

  it("takes the sign-in's time from the envelope when the export left out createdDateTime", () => {
    const jira = accepted(fromBlob).find((e) => e.app === "jira")
    expect(jira?.occurredAt).toEqual(new Date("2026-03-03T07:12:30.250Z"))
  })

  it("takes the outcome from resultType when the record has no status", () => {
    const figma = accepted(fromBlob).find((e) => e.appName === "Figma")
    expect(figma).toMatchObject({ outcome: "FAILURE", app: null })
  })

  it("refuses other categories, records without an id, and a sign-in whose time is not readable anywhere", () => {
    expect(reasons(fromBlob)).toEqual([
      "not a sign-in log category: ProvisioningLogs",
      "not an Entra sign-in log record: properties.id: is missing",
      "not an Entra sign-in log record: properties.createdDateTime: is missing; time: Expected an ISO 8601 date-time with a time zone"
    ])
  })

  it("refuses a sign-in whose only outcome, resultType, is not an error code", () => {
    const [, jira] = blobLines
    expect(reasons(decode({ ...jira, resultType: "Success", properties: { ...(jira!.properties as object), status: null } }))).toEqual([
      "not an Entra sign-in log record: properties.status.errorCode: is missing; resultType: Expected an integer error code"
    ])
  })
})

describe("detectFormat on diagnostic records", () => {
  it("recognizes a sign-in record, an Event Hubs message, and a record of another Entra category", () => {
    expect(detectFormat(message)).toBe("entra")
    expect(detectFormat(blobLines[0])).toBe("entra")
    expect(detectFormat(message.records[7])).toBe("entra")
  })

  it("recognizes a record that lost its resourceId by its sign-in properties", () => {
    const { resourceId: _, ...record } = message.records[1]!
    expect(detectFormat(record)).toBe("entra")
  })

  it("does not take another Azure service's resource log for Entra", () => {
    const keyVault = {
      time: "2026-03-02T09:00:00Z",
      resourceId: "/SUBSCRIPTIONS/0000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/CONTOSO",
      operationName: "SecretGet",
      category: "AuditEvent",
      properties: { id: "https://contoso.vault.azure.net/secrets/x", clientInfo: "azure-cli" }
    }
    expect(detectFormat(keyVault)).toBeUndefined()
  })
})
