import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import {
  DefaultAppCatalog,
  decodeValue,
  type DecodedRecord,
  EARLIEST_EVENT_TIME,
  LATEST_EVENT_TIME,
  makePseudonyms,
  MAX_ID_LENGTH,
  MAX_NAME_LENGTH,
  type SsoFormat
} from "../src/index.js"

const pseudonyms = makePseudonyms([new Uint8Array(32).fill(3)])
const decode = (format: SsoFormat, json: unknown): ReadonlyArray<DecodedRecord> => decodeValue(format, json, DefaultAppCatalog, pseudonyms)
const reasonsOf = (results: ReadonlyArray<DecodedRecord>) => results.filter(Either.isLeft).map((r) => r.left)
const acceptedOf = (results: ReadonlyArray<DecodedRecord>) => results.filter(Either.isRight).map((r) => r.right)

const okta = {
  uuid: "9f3b2c1e-d8a7-11ee-8f1a-6b1d3e0c4a21",
  published: "2026-03-02T08:14:03.221Z",
  eventType: "user.authentication.sso",
  actor: { id: "00u1", type: "User", alternateId: "jane.roe@contoso.example", displayName: "Jane Roe" },
  client: { geographicalContext: { country: "Portugal" } },
  outcome: { result: "SUCCESS" },
  target: [{ id: "0oa1", type: "AppInstance", alternateId: "Slack", displayName: "Slack" }],
  authenticationContext: { externalSessionId: "102abc" }
}

const gws = {
  kind: "admin#reports#activity",
  id: { time: "2026-03-02T08:14:03.221Z", uniqueQualifier: "-3861127392817", applicationName: "saml" },
  actor: { email: "jane.roe@contoso.example", profileId: "108447832901248" },
  events: [
    { type: "login", name: "login_success", parameters: [{ name: "application_name", value: "Slack" }, { name: "login_timestamp", intValue: "1772439243221000" }] }
  ]
}
const withId = (id: Partial<typeof gws.id> | Record<string, unknown>) => ({ ...gws, id: { ...gws.id, ...id } })

const entra = {
  id: "66ea54eb-6301-4ee5-be62-ff5a759b0100",
  createdDateTime: "2026-03-02T08:14:03.2216744Z",
  userPrincipalName: "jane.roe@contoso.example",
  appDisplayName: "Salesforce",
  isInteractive: true,
  status: { errorCode: 0 },
  authenticationDetails: [{ authenticationMethod: "Password", succeeded: true }, { authenticationMethod: "Mobile app notification", succeeded: true }],
  correlationId: "b2d6a5a1-4f3e-4c2d-9a8b-7c6d5e4f3a2b"
}

describe("Google Workspace int64 ids sent as JSON numbers", () => {
  it("gives an activity whose uniqueQualifier is a number the same event id as when it is a string", () => {
    const ids = (json: unknown) => acceptedOf(decode("gws", json)).map((e) => e.eventId)
    expect(ids(withId({ uniqueQualifier: -3861127392817 }))).toEqual(ids(gws))
    expect(ids(gws)).toEqual(["saml:2026-03-02T08:14:03.221Z:-3861127392817:0"])
  })

  it("counts a numeric profileId as the same user as its string", () => {
    const noEmail = { ...gws, actor: { profileId: "108447832901248" } }
    const [asString] = acceptedOf(decode("gws", noEmail))
    const [asNumber] = acceptedOf(decode("gws", { ...noEmail, actor: { profileId: 108447832901248 } }))
    expect(asNumber!.userId).toBe(asString!.userId)
    expect(asString!.userId).toBe(pseudonyms.user("gws:108447832901248"))
  })

  it("refuses a number that JSON.parse has already rounded, rather than store someone else's id", () => {
    // Written as -3861127392817362012 in the JSON; what arrives is -3861127392817362000.
    expect(reasonsOf(decode("gws", JSON.parse(JSON.stringify(gws).replace('"-3861127392817"', "-3861127392817362012"))))).toEqual([
      "not a Google Workspace activity: id.uniqueQualifier: Expected a string, or a JSON number below 2^53 (a larger one has already lost digits)"
    ])
  })

  it("refuses a fractional id", () => {
    expect(reasonsOf(decode("gws", { ...gws, actor: { profileId: 1084478329.5 } }))).toEqual([
      "not a Google Workspace activity: actor.profileId: Expected an integer"
    ])
  })

  it("accepts an integer intValue as a number and refuses a fractional one for that event only", () => {
    const event = gws.events[0]!
    const numeric = { ...event, parameters: [event.parameters[0]!, { name: "login_timestamp", intValue: 1772439243221000 }] }
    const fractional = { ...event, parameters: [event.parameters[0]!, { name: "login_timestamp", intValue: 17724.5 }] }
    const results = decode("gws", { ...gws, events: [numeric, fractional] })
    expect(acceptedOf(results).map((e) => e.app)).toEqual(["slack"])
    expect(reasonsOf(results)).toEqual(["events[1]: not a Google Workspace activity event: parameters.1.intValue: Expected an integer"])
  })
})

describe("Entra flags and codes written as strings", () => {
  it("reads isInteractive, succeeded and errorCode spelled as strings as the values they spell", () => {
    const stringly = {
      ...entra,
      isInteractive: "True",
      status: { errorCode: "0" },
      authenticationDetails: [{ authenticationMethod: "Password", succeeded: "true" }, { authenticationMethod: "Mobile app notification", succeeded: "TRUE" }]
    }
    expect(decode("entra", stringly)).toEqual(decode("entra", entra))
    expect(acceptedOf(decode("entra", entra))[0]).toMatchObject({ app: "salesforce", authSteps: 2, outcome: "SUCCESS" })
  })

  it("keeps a sign-in whose isInteractive is the string false out of the accesses", () => {
    expect(acceptedOf(decode("entra", { ...entra, isInteractive: "false" }))[0]).toMatchObject({ eventType: "signIn.nonInteractive", app: null })
  })

  it("refuses a flag that is neither true nor false, and an error code that is not an integer", () => {
    expect(reasonsOf(decode("entra", { ...entra, isInteractive: "yes", status: { errorCode: "50126a" } }))).toEqual([
      "not an Entra signIn: isInteractive: Expected true or false; status.errorCode: Expected an integer error code"
    ])
  })
})

const long = (max: number) => "x".repeat(max + 1)
const TOO_LONG_ID = `is longer than ${MAX_ID_LENGTH.toLocaleString("en-US")} characters`
const TOO_LONG_NAME = `is longer than ${MAX_NAME_LENGTH.toLocaleString("en-US")} characters`

describe("absurd values", () => {
  it.each([
    ["okta", { ...okta, uuid: long(MAX_ID_LENGTH) }, `not an Okta LogEvent: uuid: ${TOO_LONG_ID}`],
    ["okta", { ...okta, actor: { ...okta.actor, alternateId: long(MAX_ID_LENGTH) } }, `not an Okta LogEvent: actor.alternateId: ${TOO_LONG_ID}`],
    ["okta", { ...okta, authenticationContext: { externalSessionId: long(MAX_ID_LENGTH) } }, `not an Okta LogEvent: authenticationContext.externalSessionId: ${TOO_LONG_ID}`],
    ["gws", withId({ uniqueQualifier: long(MAX_ID_LENGTH) }), `not a Google Workspace activity: id.uniqueQualifier: ${TOO_LONG_ID}`],
    ["gws", { ...gws, actor: { email: long(MAX_ID_LENGTH) } }, `not a Google Workspace activity: actor.email: ${TOO_LONG_ID}`],
    ["entra", { ...entra, id: long(MAX_ID_LENGTH) }, `not an Entra signIn: id: ${TOO_LONG_ID}`],
    ["entra", { ...entra, userPrincipalName: long(MAX_ID_LENGTH) }, `not an Entra signIn: userPrincipalName: ${TOO_LONG_ID}`],
    ["entra", { ...entra, correlationId: long(MAX_ID_LENGTH) }, `not an Entra signIn: correlationId: ${TOO_LONG_ID}`]
  ] as const)("%s: refuses an identifier longer than the bound, naming it", (format, record, reason) => {
    expect(decode(format, record)).toEqual([Either.left(reason)])
  })

  it.each([
    ["okta", { ...okta, uuid: "x".repeat(MAX_ID_LENGTH), actor: { ...okta.actor, alternateId: "x".repeat(MAX_ID_LENGTH) } }],
    ["gws", withId({ uniqueQualifier: "x".repeat(MAX_ID_LENGTH) })],
    ["entra", { ...entra, id: "x".repeat(MAX_ID_LENGTH), appDisplayName: "x".repeat(MAX_NAME_LENGTH) }]
  ] as const)("%s: accepts identifiers and names exactly at the bound", (format, record) => {
    expect(reasonsOf(decode(format, record))).toEqual([])
  })

  it.each([
    ["okta", { ...okta, target: [{ ...okta.target[0]!, displayName: long(MAX_NAME_LENGTH) }] }, `not an Okta LogEvent: target.0.displayName: ${TOO_LONG_NAME}`],
    ["gws", { ...gws, events: [{ ...gws.events[0]!, parameters: [{ name: "application_name", value: long(MAX_NAME_LENGTH) }] }] }, `events[0]: not a Google Workspace activity event: parameters.0.value: ${TOO_LONG_NAME}`],
    ["entra", { ...entra, appDisplayName: long(MAX_NAME_LENGTH) }, `not an Entra signIn: appDisplayName: ${TOO_LONG_NAME}`]
  ] as const)("%s: refuses an app name longer than the bound", (format, record, reason) => {
    expect(decode(format, record)).toEqual([Either.left(reason)])
  })

  it("keeps a long value in a Google parameter that names no app", () => {
    const event = { ...gws.events[0]!, parameters: [...gws.events[0]!.parameters, { name: "login_type", value: long(MAX_NAME_LENGTH) }] }
    expect(acceptedOf(decode("gws", { ...gws, events: [event] })).map((e) => e.app)).toEqual(["slack"])
  })

  const at = (format: SsoFormat, time: string) =>
    format === "okta" ? { ...okta, published: time } : format === "gws" ? withId({ time }) : { ...entra, createdDateTime: time }
  const timeField = { okta: "not an Okta LogEvent: published", gws: "not a Google Workspace activity: id.time", entra: "not an Entra signIn: createdDateTime" }

  it.each(["okta", "gws", "entra"] as const)("%s: refuses a time before 1900 or from 2100 on, and accepts the edges", (format) => {
    for (const time of ["1899-12-31T23:59:59.999Z", "2100-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2099-12-31T20:00:00-04:00"]) {
      expect(decode(format, at(format, time))).toEqual([Either.left(`${timeField[format]}: Expected a date-time from 1900-01-01 up to 2100-01-01`)])
    }
    for (const time of [EARLIEST_EVENT_TIME.toISOString(), new Date(LATEST_EVENT_TIME.getTime() - 1).toISOString()]) {
      expect(acceptedOf(decode(format, at(format, time))).map((e) => e.occurredAt.toISOString())).toEqual([time])
    }
  })
})
