import { describe, expect, it } from "@effect/vitest"
import { Either, ParseResult, Schema } from "effect"
import { DefaultAppCatalog, MAX_ID_LENGTH, normalizeOkta, OktaLogEvent, type UserId } from "../src/index.js"

const decode = Schema.decodeUnknownEither(OktaLogEvent)

const sso = {
  uuid: "a1b2c3",
  published: "2026-11-02T09:15:00.123Z",
  eventType: "user.authentication.sso",
  version: "0",
  actor: { id: "00u1", type: "User", alternateId: "Jane.Doe@Example.com", displayName: "Jane Doe" },
  client: { ipAddress: "203.0.113.7", geographicalContext: { country: "Germany", city: "Berlin" } },
  outcome: { result: "SUCCESS", reason: null },
  target: [
    { id: "0oa1", type: "AppInstance", alternateId: "GitHub", displayName: "GitHub" },
    { id: "0ua1", type: "AppUser", alternateId: "jane.doe@example.com", displayName: "Jane Doe" }
  ],
  authenticationContext: { authenticationStep: 2, externalSessionId: "102abc" },
  debugContext: { debugData: { requestUri: "/app/github/sso/saml" } }
}

const pseudonyms = { user: (login: string) => `u_${login}` as UserId, session: (s: string) => `s_${s}`, employee: (e: string) => `e_${e}`, record: (r: string) => `r_${r.length}` }

describe("Okta LogEvent decoding", () => {
  it("decodes a realistic SSO event and ignores unknown fields", () => {
    const event = Either.getOrThrow(decode(sso))
    expect(event.published).toEqual(new Date("2026-11-02T09:15:00.123Z"))
    expect(event.target?.[0]?.type).toBe("AppInstance")
    expect("debugContext" in event).toBe(false)
  })

  it("accepts null where Okta documents optional objects", () => {
    const event = decode({ ...sso, client: null, target: null, authenticationContext: null, outcome: null })
    expect(Either.isRight(event)).toBe(true)
  })

  const without = (field: keyof typeof sso) => Object.fromEntries(Object.entries(sso).filter(([k]) => k !== field))
  it.each([
    ["uuid", without("uuid")],
    ["published", without("published")],
    ["eventType", without("eventType")],
    ["actor", without("actor")]
  ])("rejects an event without %s, naming it", (field, input) => {
    const result = decode(input)
    if (Either.isRight(result)) return expect.fail("decoded an event with a missing field")
    const issues = ParseResult.ArrayFormatter.formatErrorSync(result.left)
    expect(issues).toEqual([{ _tag: "Missing", path: [field], message: "is missing" }])
  })

  it.each([
    ["published is not a date", { ...sso, published: "yesterday" }],
    ["actor.id is a number", { ...sso, actor: { ...sso.actor, id: 42 } }],
    ["target is an object", { ...sso, target: { id: "x" } }],
    ["authenticationStep is text", { ...sso, authenticationContext: { authenticationStep: "two" } }],
    ["authenticationStep is absurd", { ...sso, authenticationContext: { authenticationStep: 40000 } }],
    ["uuid is absurdly long", { ...sso, uuid: "a".repeat(MAX_ID_LENGTH + 1) }],
    ["published is before 1900", { ...sso, published: "1899-12-31T23:59:59Z" }]
  ])("rejects wrong types: %s", (_, input) => {
    expect(Either.isLeft(decode(input))).toBe(true)
  })
})

describe("normalizeOkta", () => {
  const normalize = (input: unknown) => normalizeOkta(Either.getOrThrow(decode(input)), DefaultAppCatalog, pseudonyms)

  it("turns an SSO into an app access with no personal data left", () => {
    const event = normalize(sso)
    expect(event).toEqual({
      eventId: "a1b2c3",
      provider: "okta",
      eventType: "user.authentication.sso",
      occurredAt: new Date("2026-11-02T09:15:00.123Z"),
      userId: "u_Jane.Doe@Example.com",
      app: "github",
      appName: "GitHub",
      outcome: "SUCCESS",
      authSteps: 2,
      sessionId: "s_102abc",
      country: "Germany"
    })
    expect(JSON.stringify(event)).not.toMatch(/Jane Doe|203\.0\.113\.7/)
  })

  it("keeps failed sign-ons and other event types as raw events only", () => {
    expect(normalize({ ...sso, outcome: { result: "FAILURE" } }).app).toBeNull()
    expect(normalize({ ...sso, eventType: "user.session.start", target: null }).app).toBeNull()
  })

  it("maps unknown apps to their normalized name and counts at least one step", () => {
    const event = normalize({
      ...sso,
      target: [{ id: "0oa9", type: "AppInstance", displayName: "Acme Internal Wiki" }],
      authenticationContext: { authenticationStep: 0 }
    })
    expect(event.app).toBe("acme_internal_wiki")
    expect(event.authSteps).toBe(1)
  })

  it("leaves events of non-user actors without a user", () => {
    expect(normalize({ ...sso, actor: { id: "sys", type: "SystemPrincipal" } }).userId).toBeNull()
  })
})
