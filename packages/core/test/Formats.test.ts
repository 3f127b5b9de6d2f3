import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { readFileSync } from "node:fs"
import {
  type AccessEvent,
  DefaultAppCatalog,
  decodeValue,
  type DecodedRecord,
  detectFormat,
  makePseudonyms,
  MAX_ID_LENGTH,
  MAX_NAME_LENGTH,
  normalizeOkta,
  OktaLogEvent,
  parseTimestamp,
  type SsoFormat
} from "../src/index.js"

const pseudonyms = makePseudonyms([new Uint8Array(32).fill(3)])
const user = (login: string) => pseudonyms.user(login)
const session = (id: string) => pseudonyms.session(id)

/** The JSON values of a fixture: one per NDJSON line, or the whole file. */
const valuesOf = (path: string): Array<unknown> => {
  const text = readFileSync(new URL(`./fixtures/${path}`, import.meta.url), "utf8")
  return path.endsWith(".ndjson") ? text.split("\n").filter((line) => line.trim() !== "").map((line) => JSON.parse(line)) : [JSON.parse(text)]
}
const decodeFile = (format: SsoFormat, path: string): Array<DecodedRecord> =>
  valuesOf(path).flatMap((value) => decodeValue(format, value, DefaultAppCatalog, pseudonyms))
const acceptedOf = (results: ReadonlyArray<DecodedRecord>): Array<AccessEvent> => results.filter(Either.isRight).map((r) => r.right)
const reasonsOf = (results: ReadonlyArray<DecodedRecord>): Array<string> => results.filter(Either.isLeft).map((r) => r.left)
const accesses = (results: ReadonlyArray<DecodedRecord>) =>
  acceptedOf(results)
    .filter((e) => e.app !== null)
    .map(({ app, authSteps, country, eventId, sessionId, userId }) => ({ eventId, app, userId, authSteps, country, sessionId }))
const rawOnly = (results: ReadonlyArray<DecodedRecord>) =>
  acceptedOf(results)
    .filter((e) => e.app === null)
    .map(({ appName, eventId, eventType, outcome, userId }) => ({ eventId, eventType, appName, outcome, userId }))

const FILES: Record<SsoFormat, ReadonlyArray<string>> = {
  okta: ["okta/system-log.ndjson", "okta/api-page.json", "okta/event-hook.json"],
  gws: ["gws/activities.ndjson", "gws/activities-page.json", "gws/activities-empty-page.json"],
  entra: ["entra/signins.ndjson", "entra/signins-page.json", "entra/signins-empty-page.json", "entra/diagnostic-eventhub.json", "entra/diagnostic-blob.ndjson"]
}

describe("Okta", () => {
  const log = decodeFile("okta", "okta/system-log.ndjson")
  const maria = "maria.gonzalez@northwind-traders.com"

  it("counts successful SSOs of users into an AppInstance as accesses, whatever the target order", () => {
    expect(accesses(log)).toEqual([
      { eventId: "9f3b2c1e-d8a7-11ee-8f1a-6b1d3e0c4a21", app: "slack", userId: user(maria), authSteps: 1, country: "Spain", sessionId: session("102x7Yh4bQZRzOu2lB0Eg3kQw") },
      { eventId: "a0c4d3f2-d8a7-11ee-9b2c-7c2e4f1d5b32", app: "github", userId: user("seun.adeyemi@northwind-traders.com"), authSteps: 2, country: "United Kingdom", sessionId: session("102QwErTyUiOpAsDfGhJkLzX") },
      { eventId: "c2e6f5b4-d8a7-11ee-b4e5-9e4a6b3f7d54", app: "acme_expenses", userId: user("emily.obrien@northwind-traders.com"), authSteps: 1, country: null, sessionId: session("102PoIuYtReWqLkJhGfDsA") },
      { eventId: "06cad9f8-d8a8-11ee-b8c9-d28e0f7d1b98", app: "zoom", userId: user("seun.adeyemi@northwind-traders.com"), authSteps: 1, country: "United Kingdom", sessionId: session("102QwErTyUiOpAsDfGhJkLzX") },
      { eventId: "17dbe0a9-d8a8-11ee-89da-e39f1a8e2ca9", app: "jira", userId: user("h.tanaka@northwind-traders.com"), authSteps: 1, country: null, sessionId: null },
      { eventId: "28ecf1ba-d8a8-11ee-9aeb-f4a02b9f3dba", app: "figma", userId: user("emily.obrien@northwind-traders.com"), authSteps: 1, country: "United States", sessionId: null },
      { eventId: "4a0e13dc-d8a8-11ee-bc0d-16c24db15fdc", app: DefaultAppCatalog.resolve("Büro Planner"), userId: user("lars.kristiansen@northwind-traders.com"), authSteps: 1, country: "Norway", sessionId: session("102MnBvCxZlKjHgFdSaPoI") }
    ])
  })

  it("keeps failures, other event types and non-user actors as raw events", () => {
    expect(rawOnly(log)).toEqual([
      { eventId: "b1d5e4a3-d8a7-11ee-a3d4-8d3f5a2e6c43", eventType: "user.session.start", appName: null, outcome: "SUCCESS", userId: user("h.tanaka@northwind-traders.com") },
      { eventId: "d3f7a6c5-d8a7-11ee-85f6-af5b7c4a8e65", eventType: "user.authentication.sso", appName: "Salesforce", outcome: "FAILURE", userId: user("lars.kristiansen@northwind-traders.com") },
      { eventId: "e4a8b7d6-d8a7-11ee-96a7-b06c8d5b9f76", eventType: "user.authentication.auth_via_mfa", appName: null, outcome: "SUCCESS", userId: user(maria) },
      { eventId: "f5b9c8e7-d8a7-11ee-a7b8-c17d9e6c0a87", eventType: "application.lifecycle.update", appName: "Workday", outcome: "SUCCESS", userId: null },
      { eventId: "39fd02cb-d8a8-11ee-abfc-05b13ca04ecb", eventType: "policy.evaluate_sign_on", appName: "Workday", outcome: "DENY", userId: user("lars.kristiansen@northwind-traders.com") }
    ])
    expect(acceptedOf(log).find((e) => e.eventType === "user.session.start")?.occurredAt).toEqual(new Date("2026-03-01T15:31:47.900Z"))
  })

  it("refuses records without an id, a zoned timestamp or an actor object, naming the field", () => {
    expect(reasonsOf(log)).toEqual([
      "not an Okta LogEvent: published: is missing",
      "not an Okta LogEvent: actor: Expected OktaEntity",
      "not an Okta LogEvent: published: Expected an ISO 8601 date-time with a time zone",
      "not an Okta LogEvent: published: Expected an ISO 8601 date-time with a time zone",
      "not an Okta LogEvent: uuid: is missing",
      "not an Okta LogEvent: actor.id: Expected string",
      "not an Okta LogEvent: authenticationContext.authenticationStep: Expected number",
      "not an Okta LogEvent: actor: Expected OktaEntity"
    ])
  })

  it("reads an API page and an event hook delivery record by record", () => {
    const page = decodeFile("okta", "okta/api-page.json")
    expect(page).toHaveLength(6)
    expect(accesses(page).map((a) => a.app)).toEqual(["github", "slack", "workday"])
    expect(reasonsOf(page)).toEqual(["[3]: not an Okta LogEvent: target: Expected an array"])
    const hook = decodeFile("okta", "okta/event-hook.json")
    expect(hook).toHaveLength(4)
    expect(accesses(hook).map((a) => [a.eventId, a.app])).toEqual([
      ["9f3b2c1e-d8a7-11ee-8f1a-6b1d3e0c4a21", "slack"],
      ["28ecf1ba-d8a9-11ee-aaeb-f4a02b0edda0", "salesforce"]
    ])
    expect(rawOnly(hook).map((e) => e.eventType)).toEqual(["user.account.lock"])
    expect(reasonsOf(hook)).toEqual(["data.events[3]: not an Okta LogEvent: actor: Expected OktaEntity"])
    expect(decodeValue("okta", { eventType: "com.okta.event_hook", data: null }, DefaultAppCatalog, pseudonyms)).toEqual([
      Either.left("not an Okta event hook delivery: data: Expected an object")
    ])
  })

  it("decodes on the fast path exactly as through the Schema", () => {
    const decode = Schema.decodeUnknownEither(OktaLogEvent)
    const records = FILES.okta.flatMap(valuesOf).flatMap((v) => (Array.isArray(v) ? v : (v as { data?: { events?: Array<unknown> } }).data?.events ?? [v]))
    const variants = records.flatMap((r) => {
      const record = r as Record<string, unknown>
      return [
        record,
        { ...record, client: null, outcome: null, authenticationContext: null, target: null },
        { ...record, client: { geographicalContext: null }, outcome: {}, authenticationContext: { authenticationStep: null } },
        { ...record, actor: { id: "00u9", type: "User" }, target: [{ id: "0oa9", type: "AppInstance", displayName: "", alternateId: "" }] },
        { ...record, published: "2026-03-02T08:14:03+0200", extra: { nested: [1, 2] } },
        { ...record, authenticationContext: { authenticationStep: 1.5 } },
        { ...record, outcome: { result: 3 } },
        { ...record, target: [{ id: "0oa9", type: "AppInstance", displayName: 7 }] },
        { ...record, client: [] },
        { ...record, uuid: "u".repeat(MAX_ID_LENGTH) },
        { ...record, uuid: "u".repeat(MAX_ID_LENGTH + 1) },
        { ...record, eventType: "e".repeat(MAX_ID_LENGTH + 1) },
        { ...record, actor: { id: "00u9", type: "User", alternateId: "a".repeat(MAX_ID_LENGTH + 1) } },
        { ...record, target: [{ id: "0oa9", type: "AppInstance", displayName: "d".repeat(MAX_NAME_LENGTH) }] },
        { ...record, target: [{ id: "0oa9", type: "AppInstance", displayName: "d".repeat(MAX_NAME_LENGTH + 1) }] },
        { ...record, client: { geographicalContext: { country: "c".repeat(MAX_NAME_LENGTH + 1) } } },
        { ...record, outcome: { result: "r".repeat(MAX_NAME_LENGTH + 1) } },
        { ...record, authenticationContext: { externalSessionId: "s".repeat(MAX_ID_LENGTH + 1) } },
        { ...record, published: "1899-12-31T23:59:59.999Z" },
        { ...record, published: "1900-01-01T00:00:00Z" },
        { ...record, published: "2100-01-01T00:00:00Z" }
      ]
    })
    expect(variants.length).toBeGreaterThan(500)
    for (const variant of variants) {
      const [viaFormats] = decodeValue("okta", variant, DefaultAppCatalog, pseudonyms)
      const viaSchema = Either.map(decode(variant), (e) => normalizeOkta(e, DefaultAppCatalog, pseudonyms))
      expect(Either.isRight(viaFormats!)).toBe(Either.isRight(viaSchema))
      if (Either.isRight(viaFormats!) && Either.isRight(viaSchema)) expect(viaFormats.right).toEqual(viaSchema.right)
    }
  })
})

describe("Google Workspace", () => {
  const log = decodeFile("gws", "gws/activities.ndjson")

  it("counts saml login_success and token authorize as accesses, one record per event", () => {
    expect(accesses(log)).toEqual([
      { eventId: "saml:2026-03-02T08:14:03.221Z:-3861127392817362012:0", app: "slack", userId: user("maria.gonzalez@northwind-traders.com"), authSteps: 1, country: "ES", sessionId: null },
      { eventId: "token:2026-03-02T00:40:12.000Z:7412589630147258963:0", app: "zoom", userId: user("h.tanaka@northwind-traders.com"), authSteps: 1, country: "JP", sessionId: null },
      { eventId: "token:2026-03-02T10:45:09.333Z:6574839201928374655:0", app: "miro", userId: user("gws:108447832901248765432"), authSteps: 1, country: null, sessionId: null },
      { eventId: "saml:2026-03-02T12:00:00.125Z:-2718281828459045235:0", app: "github", userId: user("seun.adeyemi@northwind-traders.com"), authSteps: 1, country: "GB", sessionId: null },
      { eventId: "saml:2026-03-02T12:00:00.125Z:-2718281828459045235:2", app: "figma", userId: user("seun.adeyemi@northwind-traders.com"), authSteps: 1, country: "GB", sessionId: null }
    ])
  })

  it("keeps failures, revocations, API activity and login events as raw events, with sign-in steps", () => {
    const lars = user("lars.kristiansen@northwind-traders.com")
    expect(rawOnly(log).map(({ eventType, appName, outcome }) => [eventType, appName, outcome])).toEqual([
      ["saml.login_failure", "Salesforce", "FAILURE"],
      ["token.revoke", "Zoom", "SUCCESS"],
      ["token.activity", "Miro", "SUCCESS"],
      ["login.login_verification", null, "CHALLENGE"],
      ["login.login_success", null, "SUCCESS"],
      ["login.login_failure", null, "FAILURE"],
      ["saml.login_success", null, "SUCCESS"],
      ["login.login_success", null, "SUCCESS"],
      ["login.logout", null, "SUCCESS"]
    ])
    const signIn = acceptedOf(log).find((e) => e.eventId === "login:2026-03-02T07:59:58.771Z:2039485761029384756:1")
    expect(signIn).toMatchObject({ userId: lars, authSteps: 2, app: null, country: "NO" })
  })

  it("refuses other applications and activities without an id, a time or an actor object", () => {
    expect(reasonsOf(log)).toEqual([
      "events[1]: not a Google Workspace activity event: name: is missing",
      'not a Google Workspace activity: id.applicationName: Expected "login" | "saml" | "token"',
      "not a Google Workspace activity: id.time: is missing",
      "not a Google Workspace activity: actor: Expected an object",
      "not a Google Workspace activity: id.time: Expected an ISO 8601 date-time with a time zone",
      "not a Google Workspace activity: id.uniqueQualifier: is missing"
    ])
  })

  it("reads a list page item by item, and an empty page as no records", () => {
    const page = decodeFile("gws", "gws/activities-page.json")
    expect(accesses(page).map((a) => [a.app, a.country])).toEqual([["salesforce", "ES"], ["jira", "JP"], ["zoom", "GB"]])
    expect(rawOnly(page).map((e) => [e.eventType, e.appName])).toEqual([["saml.login_failure", "Jira"]])
    expect(reasonsOf(page)).toEqual(["items[3]: not a Google Workspace activity: events: Expected an array of at least 1 item(s)"])
    expect(decodeFile("gws", "gws/activities-empty-page.json")).toEqual([])
  })
})

describe("Entra", () => {
  const log = decodeFile("entra", "entra/signins.ndjson")

  it("counts successful interactive sign-ins into a named app, with steps taken in this sign-in", () => {
    expect(accesses(log)).toEqual([
      { eventId: "66ea54eb-6301-4ee5-be62-ff5a759b0100", app: "salesforce", userId: user("maria.gonzalez@northwind-traders.com"), authSteps: 1, country: "ES", sessionId: session("b2d6a5a1-4f3e-4c2d-9a8b-7c6d5e4f3a2b") },
      { eventId: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", app: "microsoft_teams", userId: user("seun.adeyemi@northwind-traders.com"), authSteps: 2, country: "GB", sessionId: session("c3e7b6b2-5a4f-4d3e-8b9c-8d7e6f5a4b3c") },
      { eventId: "3d4e5f6a-7b8c-4d9e-9f0a-2b3c4d5e6f7a", app: "figma", userId: user("emily.obrien@northwind-traders.com"), authSteps: 1, country: "US", sessionId: session("d4f8c7c3-6b5a-4e4f-9cad-9e8f7a6b5c4d") },
      { eventId: "5f6a7b8c-9d0e-4f1a-9b2c-4d5e6f7a8b9c", app: "workday", userId: user("lars.kristiansen@northwind-traders.com"), authSteps: 2, country: null, sessionId: session("0f4c2a1e-88b3-4e0d-a7c6-2b1d9e8f7a6c") },
      { eventId: "7b8c9d0e-1f2a-4b3c-9d4e-6f7a8b9c0d1e", app: "miro", userId: user("priya.raman_fabrikam.com#EXT#@northwindtraders.onmicrosoft.com"), authSteps: 1, country: "IN", sessionId: session("b2d6a5a1-4f3e-4c2d-9a8b-7c6d5e4f3a2b") }
    ])
    expect(acceptedOf(log)[0]!.occurredAt).toEqual(new Date("2026-03-02T08:14:03.221Z"))
  })

  it("keeps failed, interrupted, non-interactive and service principal sign-ins as raw events", () => {
    expect(rawOnly(log).map(({ eventType, appName, outcome, userId }) => [eventType, appName, outcome, userId === null])).toEqual([
      ["signIn.nonInteractive", "Microsoft Teams", "SUCCESS", false],
      ["signIn.interactive", "Slack", "FAILURE", false],
      ["signIn.interactive", "Workday", "FAILURE", false],
      ["signIn.servicePrincipal", "Contoso Sync Daemon", "SUCCESS", true],
      ["signIn.interactive", null, "SUCCESS", false]
    ])
  })

  it("refuses sign-ins without an id or a zoned timestamp, and mistyped fields", () => {
    expect(reasonsOf(log)).toEqual([
      "not an Entra signIn: id: is missing",
      "not an Entra signIn: createdDateTime: is missing",
      "not an Entra signIn: createdDateTime: Expected an ISO 8601 date-time with a time zone",
      "not an Entra signIn: status: Expected an object",
      "not an Entra signIn: userPrincipalName: Expected string"
    ])
  })

  it("reads a Graph page record by record, and an empty page as no records", () => {
    const page = decodeFile("entra", "entra/signins-page.json")
    expect(accesses(page).map((a) => [a.app, a.authSteps, a.country])).toEqual([["microsoft_teams", 2, "ES"], ["azure_portal", 1, "JP"], ["slack", 1, null]])
    expect(rawOnly(page).map((e) => [e.appName, e.outcome])).toEqual([["Salesforce", "FAILURE"]])
    expect(reasonsOf(page)).toEqual(["value[3]: not an Entra signIn: createdDateTime: Expected an ISO 8601 date-time with a time zone"])
    expect(decodeFile("entra", "entra/signins-empty-page.json")).toEqual([])
  })
})

/**
 * Every value in the fixtures that identifies a person (or a session), and every e-mail or IP
 * address in them. A diagnostic record's `identity` is the signed-in user's name, except for a
 * workload (service principal, managed identity), whose identity is its app name.
 */
const personalData = (json: unknown): Set<string> => {
  const found = new Set<string>(["María González", "Oluwaseun Adeyemi", "Hiroshi Tanaka", "Emily O'Brien", "Lars Kristiansen", "Priya Raman"])
  const PERSONAL = /^(alternateId|displayName|email|userPrincipalName|userDisplayName|userId|profileId|ipAddress|callerIpAddress|ip|rawUserAgent|userAgent|city|postalCode|lat|lon|latitude|longitude|externalSessionId|correlationId|sessionId|identity|alternateSignInName)$/
  const workload = (parent: Record<string, unknown> | undefined) => /^(ServicePrincipal|ManagedIdentity)SignInLogs$/.test(String(parent?.category))
  const walk = (value: unknown, key: string | undefined, parent: Record<string, unknown> | undefined) => {
    if (typeof value === "string") {
      for (const match of value.matchAll(/[\w.+#-]+@[\w-]+(?:\.[\w-]+)+|\b\d{1,3}(?:\.\d{1,3}){3}\b|\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}\b/gi)) found.add(match[0])
    }
    if (key !== undefined && PERSONAL.test(key) && (typeof value === "string" || typeof value === "number") && parent?.type !== "AppInstance" && !(key === "identity" && workload(parent))) {
      if (String(value).length >= 4 && value !== "unknown") found.add(String(value))
    }
    if (key === "actor" && typeof value === "object" && value !== null && typeof (value as { id?: unknown }).id === "string") found.add((value as { id: string }).id)
    if (Array.isArray(value)) value.forEach((v) => walk(v, key, parent))
    else if (typeof value === "object" && value !== null) for (const [k, v] of Object.entries(value)) walk(v, k, value as Record<string, unknown>)
  }
  walk(json, undefined, undefined)
  return found
}

describe.each(["okta", "gws", "entra"] as const)("%s privacy", (format) => {
  const inputs = FILES[format].flatMap(valuesOf)
  const results = inputs.flatMap((value) => decodeValue(format, value, DefaultAppCatalog, pseudonyms))
  const pii = [...personalData(inputs)]

  it("stores no personal data and quotes none in reasons", () => {
    expect(pii.length).toBeGreaterThan(20)
    expect(pii).toEqual(expect.arrayContaining(["maria.gonzalez@northwind-traders.com", "María González"]))
    const stored = JSON.stringify(acceptedOf(results))
    const reasons = reasonsOf(results)
    expect(reasons.length).toBeGreaterThan(0)
    expect(pii.filter((value) => stored.includes(value))).toEqual([])
    expect(pii.filter((value) => reasons.some((reason) => reason.includes(value)))).toEqual([])
    expect(acceptedOf(results).every((e) => e.userId === null || /^u_[0-9a-f]{32}$/.test(e.userId))).toBe(true)
    expect(acceptedOf(results).every((e) => e.sessionId === null || /^s_[0-9a-f]{32}$/.test(e.sessionId))).toBe(true)
  })

  it("gives every record a unique id that a re-delivery repeats", () => {
    const ids = acceptedOf(results).map((e) => e.eventId)
    const again = inputs.flatMap((value) => acceptedOf(decodeValue(format, JSON.parse(JSON.stringify(value)), DefaultAppCatalog, pseudonyms)))
    expect(again.map((e) => e.eventId)).toEqual(ids)
    const perFile = FILES[format].map((file) => acceptedOf(decodeFile(format, file)).map((e) => e.eventId))
    for (const fileIds of perFile) expect(new Set(fileIds).size).toBe(fileIds.length)
  })
})

describe("event ids", () => {
  it("repeat across Okta deliveries: the hook re-delivers a System Log event under its uuid", () => {
    const exported = acceptedOf(decodeFile("okta", "okta/system-log.ndjson"))[0]!
    const hooked = acceptedOf(decodeFile("okta", "okta/event-hook.json"))[0]!
    expect(hooked).toEqual(exported)
  })

  it("for Google Workspace do not depend on how the time is written", () => {
    const [activity] = valuesOf("gws/activities.ndjson") as Array<{ id: { time: string } }>
    const shifted = { ...activity!, id: { ...activity!.id, time: "2026-03-02T09:14:03.2210+01:00" } }
    const ids = (json: unknown) => acceptedOf(decodeValue("gws", json, DefaultAppCatalog, pseudonyms)).map((e) => e.eventId)
    expect(ids(shifted)).toEqual(ids(activity))
    expect(ids(activity)).toEqual(["saml:2026-03-02T08:14:03.221Z:-3861127392817362012:0"])
  })
})

describe("detectFormat", () => {
  it.each(["okta", "gws", "entra"] as const)("recognizes every %s shape, and its records inside arrays and pages", (format) => {
    for (const value of FILES[format].flatMap(valuesOf)) {
      expect(detectFormat(value)).toBe(format)
      const page = value as Record<string, unknown>
      const inner = Array.isArray(value) ? value : (page.items ?? page.value ?? page.records ?? [])
      for (const record of inner as Array<unknown>) expect(detectFormat(record)).toBe(format)
    }
  })

  it("recognizes damaged records by the keys only their provider writes", () => {
    expect(detectFormat({ uuid: "x", eventType: "user.session.start" })).toBe("okta")
    expect(detectFormat({ published: "2026-03-02T08:14:03Z", eventType: "user.session.start", actor: null })).toBe("okta")
    expect(detectFormat({ id: { applicationName: "saml" } })).toBe("gws")
    expect(detectFormat({ kind: "admin#reports#activity" })).toBe("gws")
    expect(detectFormat({ userPrincipalName: "a@b.c", appDisplayName: "Slack", isInteractive: true })).toBe("entra")
    expect(detectFormat({ "@odata.context": "https://graph.microsoft.com/beta/$metadata#auditLogs/signIns", value: [] })).toBe("entra")
    expect(detectFormat({ eventType: "com.okta.event_hook", data: { events: [] } })).toBe("okta")
  })

  it.each([[42], ["okta"], [null], [[]], [{}], [{ value: [] }], [{ items: [1] }], [{ id: "x", createdDateTime: "2026-03-02T08:14:03Z" }]])(
    "knows nothing of %j",
    (value) => expect(detectFormat(value)).toBeUndefined()
  )
})

describe("decodeValue on values of another format", () => {
  const [entra] = valuesOf("entra/signins.ndjson")
  it("refuses them once, saying what they are not", () => {
    const [okta] = decodeValue("okta", entra, DefaultAppCatalog, pseudonyms)
    expect(decodeValue("okta", entra, DefaultAppCatalog, pseudonyms)).toHaveLength(1)
    expect(Either.isLeft(okta!) && okta.left).toBe("not an Okta LogEvent: uuid: is missing; published: is missing; eventType: is missing; actor: is missing")
    expect(decodeValue("gws", "jane@example.com", DefaultAppCatalog, pseudonyms)).toEqual([Either.left("not a Google Workspace activity: record: Expected GwsActivity")])
    expect(decodeValue("entra", 42, DefaultAppCatalog, pseudonyms)).toEqual([Either.left("not an Entra signIn: record: Expected EntraSignIn")])
  })
})

describe("parseTimestamp", () => {
  it.each([
    ["2026-03-02T08:14:03Z", "2026-03-02T08:14:03.000Z"],
    ["2026-03-02T08:14:03.2216744Z", "2026-03-02T08:14:03.221Z"],
    ["2026-03-02T08:14:03.5-08:00", "2026-03-02T16:14:03.500Z"],
    ["2026-03-02t08:14:03+0530", "2026-03-02T02:44:03.000Z"],
    ["2028-02-29T00:00:00Z", "2028-02-29T00:00:00.000Z"]
  ])("reads %s", (text, iso) => expect(parseTimestamp(text)?.toISOString()).toBe(iso))

  it.each(["2026-03-02T08:14:03", "2026-03-02", "Mon, 02 Mar 2026 08:14:03 GMT", "1772439243", "2026-02-29T00:00:00Z", "2026-03-02T24:00:00Z", "2026-13-02T08:14:03Z", ""])(
    "refuses %j",
    (text) => expect(parseTimestamp(text)).toBeUndefined()
  )
})
